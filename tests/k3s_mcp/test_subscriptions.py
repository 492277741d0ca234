"""resources/subscribe through a real MCP client on the test cluster: a change of the object (a ConfigMap patched
by the test's own REST client) sends notifications/resources/updated within a bound; unsubscribing and the end of
the session stop the watch; the bounds, refusals and a watch whose version is gone."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import mcp_types
import pytest
from fastmcp import Client
from fastmcp.client.messages import MessageHandler
from mcp.client.subscriptions import listen
from mcp.shared.exceptions import MCPError

from devcluster.api import ClusterAPI
from k3s_mcp.server import build_server
from k3s_mcp.settings import Settings
from k3s_mcp.subscriptions import MAX_WATCHES_PER_SESSION, SubscriptionHub
from tests.k3s_mcp.conftest import create, serve_with_token, wait_until

pytestmark = pytest.mark.filterwarnings("ignore:resources/(un)?subscribe is removed")

WITHIN = 10.0
"""Seconds a notification may take (it takes milliseconds; the bound only keeps a broken watch from hanging)."""
QUIET = 2.0
"""Seconds without a notification that count as none coming."""


class Updates(MessageHandler):
    """Collects the URIs of notifications/resources/updated."""

    def __init__(self) -> None:
        self.uris: asyncio.Queue[str] = asyncio.Queue()

    async def on_resource_updated(self, message: mcp_types.ResourceUpdatedNotification) -> None:
        await self.uris.put(str(message.params.uri))

    async def next(self, within: float = WITHIN) -> str:
        return await asyncio.wait_for(self.uris.get(), within)

    async def none_within(self, seconds: float = QUIET) -> bool:
        try:
            await asyncio.wait_for(self.uris.get(), seconds)
        except TimeoutError:
            return True
        return False


def configmap(name: str, value: str = "1") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"v": value}}


def patch(cluster_api: ClusterAPI, namespace: str, name: str, value: str) -> None:
    status, answer = cluster_api.request(
        "PATCH",
        f"/api/v1/namespaces/{namespace}/configmaps/{name}",
        {"data": {"v": value}},
        content_type="application/merge-patch+json",
    )
    assert status == 200, answer


@contextlib.asynccontextmanager
async def subscriber(kubeconfig: str, **settings: Any) -> AsyncIterator[tuple[Client[Any], Updates, SubscriptionHub]]:
    app = build_server(Settings(kubeconfig=kubeconfig, **settings))
    updates = Updates()
    async with Client(app, mode="legacy", message_handler=updates) as client:
        yield client, updates, hub_of(app)


def hub_of(app: Any) -> SubscriptionHub:
    """The app's hub, found through the subscribe handler it registered (a test looks, the server never does)."""
    handler = app._mcp_server.get_request_handler("resources/subscribe").handler
    for cell in handler.__closure__ or ():
        if isinstance(cell.cell_contents, SubscriptionHub):
            return cell.cell_contents
    raise AssertionError("no SubscriptionHub behind resources/subscribe")


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_the_capability_is_declared_in_both_eras(mode: str, kubeconfig: str) -> None:
    """resources/subscribe on handshake-era connections, subscriptions/listen on 2026-07-28 ones."""
    async with Client(build_server(Settings(kubeconfig=kubeconfig)), mode=mode) as client:  # type: ignore[arg-type]
        capabilities = client.server_capabilities
        assert capabilities is not None and capabilities.resources is not None
        assert capabilities.resources.subscribe is True


async def test_a_change_is_notified_and_unsubscribe_stops_it(
    kubeconfig: str, namespace: str, cluster_api: ClusterAPI
) -> None:
    create(cluster_api, f"/api/v1/namespaces/{namespace}/configmaps", configmap("watched"))
    create(cluster_api, f"/api/v1/namespaces/{namespace}/configmaps", configmap("other"))
    uri = f"k8s://namespaces/{namespace}/configmaps/watched"
    async with subscriber(kubeconfig) as (client, updates, hub):
        await client.session.subscribe_resource(uri)
        assert await updates.none_within(1.0), "subscribing alone is no change"
        patch(cluster_api, namespace, "other", "2")
        assert await updates.none_within(), "another object's change reached the subscription"
        patch(cluster_api, namespace, "watched", "2")
        assert await updates.next() == uri
        text = (await client.session.read_resource(uri)).contents[0]
        assert "'2'" in getattr(text, "text", "") or '"2"' in getattr(text, "text", "")
        await client.session.unsubscribe_resource(uri)
        assert not hub.watches
        patch(cluster_api, namespace, "watched", "3")
        assert await updates.none_within(), "a notification came after unsubscribing"


async def test_a_deletion_is_notified(kubeconfig: str, namespace: str, cluster_api: ClusterAPI) -> None:
    create(cluster_api, f"/api/v1/namespaces/{namespace}/configmaps", configmap("doomed"))
    uri = f"k8s://namespaces/{namespace}/configmaps/doomed"
    async with subscriber(kubeconfig) as (client, updates, _):
        await client.session.subscribe_resource(uri)
        status, _ = cluster_api.request("DELETE", f"/api/v1/namespaces/{namespace}/configmaps/doomed")
        assert status == 200
        assert await updates.next() == uri


async def test_sessions_share_one_watch_and_the_end_of_a_session_leaves_it(
    kubeconfig: str, namespace: str, cluster_api: ClusterAPI
) -> None:
    create(cluster_api, f"/api/v1/namespaces/{namespace}/configmaps", configmap("shared"))
    uri = f"k8s://namespaces/{namespace}/configmaps/shared"
    app = build_server(Settings(kubeconfig=kubeconfig))
    hub = hub_of(app)
    first, second = Updates(), Updates()
    async with Client(app, mode="legacy", message_handler=first) as one:
        await one.session.subscribe_resource(uri)
        async with Client(app, mode="legacy", message_handler=second) as two:
            await two.session.subscribe_resource(uri.replace("/configmaps/", "/cm/"))
            assert len(hub.watches) == 1
            [watch] = hub.watches.values()
            assert len(watch.subscribers) == 2
            patch(cluster_api, namespace, "shared", "2")
            assert await first.next() == uri
            assert await second.next() == uri.replace("/configmaps/", "/cm/")
        await wait_until(lambda: len(watch.subscribers) == 1, within=5, what="the closed session to leave")
        patch(cluster_api, namespace, "shared", "3")
        assert await first.next() == uri
    await wait_until(lambda: not hub.watches, within=5, what="the last session's end to stop the watch")
    assert watch.task is not None
    await wait_until(lambda: watch.task is not None and watch.task.done(), within=5, what="the watch task to end")


async def test_the_per_session_bound_refuses_with_a_sentence(
    kubeconfig: str, namespace: str, cluster_api: ClusterAPI
) -> None:
    for index in range(MAX_WATCHES_PER_SESSION + 1):
        create(cluster_api, f"/api/v1/namespaces/{namespace}/configmaps", configmap(f"cm-{index}"))
    async with subscriber(kubeconfig) as (client, _, hub):
        for index in range(MAX_WATCHES_PER_SESSION):
            await client.session.subscribe_resource(f"k8s://namespaces/{namespace}/configmaps/cm-{index}")
        with pytest.raises(MCPError) as raised:
            await client.session.subscribe_resource(
                f"k8s://namespaces/{namespace}/configmaps/cm-{MAX_WATCHES_PER_SESSION}"
            )
        assert f"already has {MAX_WATCHES_PER_SESSION} subscriptions" in str(raised.value)
        assert len(hub.watches) == MAX_WATCHES_PER_SESSION
        # Subscribing again to one already held is no new subscription, and is not refused.
        await client.session.subscribe_resource(f"k8s://namespaces/{namespace}/configmaps/cm-0")


async def test_the_global_bound_refuses_with_a_sentence(
    kubeconfig: str, namespace: str, cluster_api: ClusterAPI
) -> None:
    create(cluster_api, f"/api/v1/namespaces/{namespace}/configmaps", configmap("a"))
    create(cluster_api, f"/api/v1/namespaces/{namespace}/configmaps", configmap("b"))
    async with subscriber(kubeconfig) as (client, _, hub):
        hub.total = 1
        await client.session.subscribe_resource(f"k8s://namespaces/{namespace}/configmaps/a")
        with pytest.raises(MCPError) as raised:
            await client.session.subscribe_resource(f"k8s://namespaces/{namespace}/configmaps/b")
        assert "already watches 1 objects" in str(raised.value)


@pytest.mark.parametrize(
    ("uri", "said"),
    [
        ("k8s://cluster/namespaces", "Invalid resource URI"),
        ("test://watched-resource", "Invalid resource URI"),
        ("k8s://namespaces/{ns}/configmaps/a%2Fb", "Invalid name 'a/b'"),
        ("k8s://namespaces/{ns}/../kube-system/secrets/x", "Invalid resource URI"),
        ("k8s://namespaces/{ns}/no-such-kind/x", "Unknown kind"),
        ("k8s://cluster/configmaps/x", "live in a namespace"),
        ("k8s://namespaces/{ns}/configmaps/" + "x" * 2000, "Invalid resource URI"),
        ("k8s://namespaces/{ns}/configmaps/a\u200bb", "Invalid name"),
    ],
)
async def test_what_cannot_be_watched_is_refused(uri: str, said: str, kubeconfig: str, namespace: str) -> None:
    async with subscriber(kubeconfig) as (client, _, hub):
        with pytest.raises(MCPError) as raised:
            await client.session.subscribe_resource(uri.replace("{ns}", namespace))
        message = str(raised.value)
        assert said in message and "Traceback" not in message, message
        assert not hub.watches


@pytest.mark.parametrize(
    "hostile",
    [
        "k8s://namespaces/{ns}/configmaps/kept",  # the same URI, from another session
        "k8s://namespaces/{ns}/cm/kept",  # an alias of it
        "k8s://namespaces/{ns}/configmaps/kept/../kept",
        "k8s://namespaces/{ns}/configmaps/%6Bept",
        "k8s://namespaces/{ns}/configmaps/" + "x" * 2000,
        "k8s://namespaces/{ns}/configmaps/kept\u200b",
        "test://watched-resource",
    ],
)
async def test_an_unsubscribe_reaches_only_its_own_session(
    hostile: str, kubeconfig: str, namespace: str, cluster_api: ClusterAPI
) -> None:
    """Another session's unsubscribe, of the URI itself or any spelling of it, leaves the subscription and its
    notifications alone; an unsubscribe of what a session never subscribed is a no-op, not an error."""
    create(cluster_api, f"/api/v1/namespaces/{namespace}/configmaps", configmap("kept"))
    uri = f"k8s://namespaces/{namespace}/configmaps/kept"
    app = build_server(Settings(kubeconfig=kubeconfig))
    hub = hub_of(app)
    updates = Updates()
    async with Client(app, mode="legacy", message_handler=updates) as owner, Client(app, mode="legacy") as other:
        await owner.session.subscribe_resource(uri)
        await other.session.unsubscribe_resource(hostile.replace("{ns}", namespace))
        await owner.session.unsubscribe_resource(hostile.replace("{ns}", namespace).replace("kept", "never"))
        assert len(hub.watches) == 1
        [watch] = hub.watches.values()
        assert len(watch.subscribers) == 1
        patch(cluster_api, namespace, "kept", "2")
        assert await updates.next() == uri


async def test_policy_refusals_stop_a_subscription_before_it_starts(kubeconfig: str, namespace: str) -> None:
    async with subscriber(kubeconfig, denied_kinds="ConfigMap") as (client, _, hub):
        with pytest.raises(MCPError) as raised:
            await client.session.subscribe_resource(f"k8s://namespaces/{namespace}/configmaps/x")
        assert str(raised.value).startswith("Refused: ConfigMaps are denied")
        assert not hub.watches


async def test_a_watch_whose_version_is_gone_lists_again_and_goes_on(
    kubeconfig: str, namespace: str, cluster_api: ClusterAPI
) -> None:
    """The running watch is restarted from a compacted version: it lists again, tells the subscriber once (a change
    may have been missed) and then follows the object from the fresh version."""
    create(cluster_api, f"/api/v1/namespaces/{namespace}/configmaps", configmap("relisted"))
    uri = f"k8s://namespaces/{namespace}/configmaps/relisted"
    async with subscriber(kubeconfig) as (client, updates, hub):
        await client.session.subscribe_resource(uri)
        [watch] = hub.watches.values()
        assert watch.task is not None
        watch.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch.task
        watch.version = "1"
        watch.task = asyncio.create_task(hub._run(watch))
        assert await updates.next() == uri, "the re-list was not told"
        assert watch.version not in ("", "1")
        patch(cluster_api, namespace, "relisted", "2")
        assert await updates.next() == uri
        assert not watch.task.done()


async def test_a_listen_stream_is_notified_of_a_change(
    kubeconfig: str, namespace: str, cluster_api: ClusterAPI
) -> None:
    """2026-07-28: the resource subscriptions of a subscriptions/listen stream are watched while it is open."""
    create(cluster_api, f"/api/v1/namespaces/{namespace}/configmaps", configmap("listened"))
    uri = f"k8s://namespaces/{namespace}/configmaps/listened"
    app = build_server(Settings(kubeconfig=kubeconfig))
    hub = hub_of(app)
    async with Client(app) as client:
        assert client.protocol_version == "2026-07-28"
        async with listen(client.session, resource_subscriptions=[uri]) as subscription:
            assert subscription.honored.resource_subscriptions == [uri]
            assert len(hub.watches) == 1
            patch(cluster_api, namespace, "listened", "2")
            event = await asyncio.wait_for(subscription.__aiter__().__anext__(), WITHIN)
            assert getattr(event, "uri", None) == uri
        await wait_until(lambda: not hub.watches, within=5, what="closing the stream to stop its watch")


@pytest.mark.parametrize(
    ("uris", "said"),
    [
        (["k8s://namespaces/default/no-such-kind/x"], "Unknown kind"),
        (["k8s://namespaces/default/configmaps/a%2Fb"], "Invalid name 'a/b'"),
        (
            [f"k8s://namespaces/default/configmaps/cm-{index}" for index in range(MAX_WATCHES_PER_SESSION + 1)],
            "may hold",
        ),
    ],
)
async def test_a_listen_stream_that_cannot_be_served_is_refused_before_its_ack(
    uris: list[str], said: str, kubeconfig: str
) -> None:
    app = build_server(Settings(kubeconfig=kubeconfig))
    async with Client(app) as client:
        with pytest.raises(MCPError) as raised:
            async with listen(client.session, resource_subscriptions=uris):
                pass
        assert said in str(raised.value), str(raised.value)
        assert not hub_of(app).watches


async def test_both_eras_are_notified_over_streamable_http(
    kubeconfig: str, namespace: str, cluster_api: ClusterAPI
) -> None:
    """A real k3s-mcp-server over HTTP: the handshake-era notification rides the session's standalone stream, the
    2026-07-28 one the listen request's own response stream."""
    create(cluster_api, f"/api/v1/namespaces/{namespace}/configmaps", configmap("over-http"))
    uri = f"k8s://namespaces/{namespace}/configmaps/over-http"
    async with serve_with_token(kubeconfig, None) as url:
        updates = Updates()
        async with Client(url, mode="legacy", message_handler=updates) as client:
            await client.session.subscribe_resource(uri)
            patch(cluster_api, namespace, "over-http", "2")
            assert await updates.next() == uri
        async with Client(url) as client, listen(client.session, resource_subscriptions=[uri]) as subscription:
            patch(cluster_api, namespace, "over-http", "3")
            event = await asyncio.wait_for(subscription.__aiter__().__anext__(), WITHIN)
            assert getattr(event, "uri", None) == uri


async def test_a_watch_that_cannot_go_on_stops_cleanly(
    kubeconfig: str, namespace: str, cluster_api: ClusterAPI
) -> None:
    """The kind itself goes away (its CRD is deleted): the watch tries again, then stops; the subscriber is told once
    and dropped, and a read of the URI says what is wrong."""
    group = f"t{uuid.uuid4().hex[:8]}.example.com"
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"gadgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }
            ],
        },
    }
    create(cluster_api, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    crd_path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.{group}"
    try:
        gadgets = f"/apis/{group}/v1/namespaces/{namespace}/gadgets"
        gadget = {"apiVersion": f"{group}/v1", "kind": "Gadget", "metadata": {"name": "g1"}}
        await wait_until(lambda: cluster_api.request("POST", gadgets, gadget)[0] == 201, within=30, what="the CRD")
        uri = f"k8s://namespaces/{namespace}/gadgets.{group}/g1"
        async with subscriber(kubeconfig) as (client, updates, hub):
            hub.retry_seconds = (0.1,)
            await client.session.subscribe_resource(uri)
            [watch] = hub.watches.values()
            status, answer = cluster_api.request("DELETE", crd_path)
            assert status == 200, answer
            assert await updates.next() == uri  # the object's deletion with its kind
            await wait_until(lambda: watch.task is not None and watch.task.done(), within=30, what="the watch to stop")
            assert not hub.watches and not watch.subscribers
            assert all(not uris for uris in hub.by_uri.values()), hub.by_uri
            with pytest.raises(MCPError):
                await client.session.read_resource(uri)
    finally:
        cluster_api.request("DELETE", crd_path)
