"""The holes of the path and policy layer, each tried as an attacker would, against the real cluster.

Each test is one way a crafted name, kind or namespace used to reach another object (or pass the confirmation
policy), and checks with the test's own REST client that nothing outside the named object was read or changed.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastmcp import Client

from devcluster.api import ClusterAPI
from tests.k3s_mcp.conftest import ClientFactory, call, call_error, create

SECRET_VALUE = "hole-" + uuid.uuid4().hex


@pytest.fixture
def victim(cluster_api: ClusterAPI, namespace: str) -> Iterator[str]:
    """The namespace holds Secret `db` (value SECRET_VALUE) and ConfigMap `cm`."""
    create(
        cluster_api,
        f"/api/v1/namespaces/{namespace}/secrets",
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "stringData": {"password": SECRET_VALUE}},
    )
    create(
        cluster_api,
        f"/api/v1/namespaces/{namespace}/configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"k": "v"}},
    )
    yield namespace


def exists(cluster_api: ClusterAPI, path: str) -> bool:
    status, _ = cluster_api.request("GET", path)
    return status == 200


def carries_secret(value: Any) -> bool:
    text = json.dumps(value) if not isinstance(value, str) else value
    return SECRET_VALUE in text or base64.b64encode(SECRET_VALUE.encode()).decode() in text


@pytest.mark.parametrize("read_only", [False, True])
async def test_dot_names_do_not_list_the_collection(
    make_client: ClientFactory, kubeconfig: str, victim: str, read_only: bool
) -> None:
    async with make_client(kubeconfig=kubeconfig, read_only=read_only) as client:
        for tool, arguments in (
            ("get_secret", {"name": ".", "namespace": victim}),
            ("get_resource", {"kind": "Secret", "name": ".", "namespace": victim}),
            ("get_resource", {"kind": "Secret", "name": "..", "namespace": victim}),
        ):
            message = await call_error(client, tool, arguments)
            assert "Invalid Secret name" in message and "DNS-1123 subdomain" in message, message
            assert not carries_secret(message)


async def test_traversal_to_a_secret_is_refused(mcp_client: Client[Any], victim: str) -> None:
    for tool, arguments in (
        ("get_resource", {"kind": "Pod", "name": "../secrets/db", "namespace": victim}),
        ("describe_object", {"kind": "ConfigMap", "name": "../secrets/db", "namespace": victim}),
        ("get_configmap", {"name": "../secrets/db", "namespace": victim}),
    ):
        message = await call_error(mcp_client, tool, arguments)
        assert "Invalid" in message and "'../secrets/db'" in message, message
        assert not carries_secret(message)


async def test_delete_cannot_escape_to_a_secret_past_the_kind_rule(
    make_client: ClientFactory, kubeconfig: str, cluster_api: ClusterAPI, victim: str
) -> None:
    async with make_client(kubeconfig=kubeconfig, confirm_kinds="Secret") as client:
        message = await call_error(client, "delete_configmap", {"name": "../secrets/db", "namespace": victim})
        assert "Invalid ConfigMap name '../secrets/db'" in message, message
        # The rule still holds for the real thing.
        held = await call_error(client, "delete_secret", {"name": "db", "namespace": victim})
        assert "Needs confirmation" in held and "K3S_CONFIRM_KINDS" in held
    assert exists(cluster_api, f"/api/v1/namespaces/{victim}/secrets/db")


async def test_a_query_in_a_name_deletes_nothing(mcp_client: Client[Any], cluster_api: ClusterAPI, victim: str) -> None:
    message = await call_error(mcp_client, "delete_configmap", {"name": "cm?dryRun=All", "namespace": victim})
    assert "Invalid ConfigMap name 'cm?dryRun=All'" in message
    assert exists(cluster_api, f"/api/v1/namespaces/{victim}/configmaps/cm")


async def test_a_crafted_namespace_does_not_pass_the_namespace_rule(
    make_client: ClientFactory, kubeconfig: str, cluster_api: ClusterAPI, victim: str
) -> None:
    async with make_client(kubeconfig=kubeconfig, confirm_namespaces=victim) as client:
        message = await call_error(client, "delete_configmap", {"name": "cm", "namespace": f"a/../{victim}"})
        assert f"Invalid namespace 'a/../{victim}'" in message and "DNS-1123 label" in message, message
        held = await call_error(client, "delete_configmap", {"name": "cm", "namespace": victim})
        assert "Needs confirmation" in held
    assert exists(cluster_api, f"/api/v1/namespaces/{victim}/configmaps/cm")


@pytest.mark.parametrize("spelling", ["ns", "namespaces", "namespace", "Namespace", "namespaces.v1"])
async def test_kind_rule_holds_for_every_spelling_of_the_kind(
    make_client: ClientFactory, kubeconfig: str, cluster_api: ClusterAPI, namespace: str, spelling: str
) -> None:
    async with make_client(kubeconfig=kubeconfig, confirm_kinds="Namespace") as client:
        result = await client.call_tool("delete_resource", {"kind": spelling, "name": namespace}, raise_on_error=False)
        text = " ".join(getattr(block, "text", "") for block in result.content)
        if spelling == "namespaces.v1":
            # Not a kind the cluster serves: refused as unknown, and nothing is deleted either way.
            assert result.is_error and "Unknown kind" in text, text
        else:
            assert result.is_error and "Needs confirmation" in text and "K3S_CONFIRM_KINDS" in text, text
    assert exists(cluster_api, f"/api/v1/namespaces/{namespace}")


async def test_namespace_rule_covers_the_namespace_object(
    make_client: ClientFactory, kubeconfig: str, cluster_api: ClusterAPI, namespace: str
) -> None:
    async with make_client(kubeconfig=kubeconfig, confirm_namespaces=namespace) as client:
        held = await call_error(client, "delete_resource", {"kind": "ns", "name": namespace})
        assert "Needs confirmation" in held and f"namespace {namespace!r}" in held, held
    assert exists(cluster_api, f"/api/v1/namespaces/{namespace}")


async def test_secret_values_are_masked_on_every_read_path(mcp_client: Client[Any], victim: str) -> None:
    answers = [
        await call(mcp_client, "get_secret", {"name": "db", "namespace": victim}),
        await call(mcp_client, "get_secrets", {"namespace": victim}),
        await call(mcp_client, "get_resource", {"kind": "secrets", "name": "db", "namespace": victim}),
        await call(mcp_client, "get_resources", {"kind": "secret", "namespace": victim, "wide": True}),
        await call(mcp_client, "get_resource_objects", {"kind": "Secret", "namespace": victim}),
        await call(mcp_client, "get_resource_objects", {"kind": "secrets", "namespace": None}),
        await call(mcp_client, "describe_object", {"kind": "Secret", "name": "db", "namespace": victim}),
    ]
    for answer in answers:
        assert not carries_secret(answer), answer
    described = answers[-1]["object"]
    assert described["data"]["password"] == f"(hidden, {len(SECRET_VALUE)} bytes)"


async def test_apply_of_a_secret_never_echoes_its_value(mcp_client: Client[Any], namespace: str) -> None:
    manifest = f"""
apiVersion: v1
kind: Secret
metadata:
  name: applied
stringData:
  token: {SECRET_VALUE}
"""
    for dry_run in (True, False, False):
        answer = await mcp_client.call_tool(
            "apply_manifest", {"manifest_yaml": manifest, "namespace": namespace, "dry_run": dry_run}
        )
        assert not carries_secret(answer.structured_content)
        assert not carries_secret([getattr(block, "text", "") for block in answer.content])
    # A refused Secret (bad base64 in data) must not quote the value back either.
    broken = f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: broken\ndata:\n  token: '{SECRET_VALUE}!!'\n"
    message = await call_error(mcp_client, "apply_manifest", {"manifest_yaml": broken, "namespace": namespace})
    assert not carries_secret(message), message


async def test_protected_namespace_is_not_blamed_on_rbac(mcp_client: Client[Any], cluster_api: ClusterAPI) -> None:
    message = await call_error(
        mcp_client, "delete_resource", {"kind": "Namespace", "name": "kube-system", "dry_run": True}
    )
    assert "may not be deleted" in message, message
    assert "RBAC" in message and "not a missing RBAC permission" in message
    assert "grant the RBAC permission" not in message
    assert exists(cluster_api, "/api/v1/namespaces/kube-system")


async def test_text_outside_the_basic_plane_applies(mcp_client: Client[Any], namespace: str) -> None:
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: emoji\ndata:\n  greeting: 'ship it 🚀 𝔘𝔫𝔦𝔠𝔬𝔡𝔢'\n"
    applied = await call(mcp_client, "apply_manifest", {"manifest_yaml": manifest, "namespace": namespace})
    assert applied["objects"][0]["result"] == "created"
    read = await call(mcp_client, "get_configmap", {"name": "emoji", "namespace": namespace})
    assert "ship it 🚀 𝔘𝔫𝔦𝔠𝔬𝔡𝔢" in json.dumps(read, ensure_ascii=False)
