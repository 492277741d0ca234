"""The access policy (K3S_DENIED_KINDS, K3S_ALLOWED_NAMESPACES), enforced by the session on every API request of
every tool and checked against the real cluster with an independent client.

The last test is generated from the live catalog: with Secrets denied, every tool is called aimed at a victim
Secret (its name, its kind, a manifest that would overwrite it), and no tool may read, change or delete it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from fastmcp import Client
from mcp_types import Tool

from devcluster.api import ClusterAPI
from k3s_mcp.server import build_server
from k3s_mcp.settings import Settings
from tests.k3s_mcp.conftest import ClientFactory, call, call_error, create
from tests.security.test_catalog_sweep import (
    CATALOG,
    SECRET_VALUE,
    VICTIM_SECRET,
    harmless,
    leaked,
    snapshot,
    victims,
)

__all__ = ["victims"]

SECRET_DENIED = "Refused: Secrets are denied on this server (K3S_DENIED_KINDS)."


def configmap(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}


def status_of(cluster_api: ClusterAPI, path: str) -> int:
    status, _ = cluster_api.request("GET", path)
    return status


@pytest.fixture
def other_namespace(cluster_api: ClusterAPI) -> Iterator[str]:
    """A namespace outside the allow-list, holding a ConfigMap and a Pod the tools must not reach."""
    name = f"t-outside-{uuid.uuid4().hex[:6]}"
    create(cluster_api, "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    create(cluster_api, f"/api/v1/namespaces/{name}/configmaps", configmap("kept"))
    yield name
    cluster_api.request("DELETE", f"/api/v1/namespaces/{name}")


# -- K3S_DENIED_KINDS ---------------------------------------------------------------------------------------------


async def test_a_denied_kind_is_refused_by_every_name(
    make_client: ClientFactory, kubeconfig: str, namespace: str, cluster_api: ClusterAPI
) -> None:
    create(cluster_api, f"/api/v1/namespaces/{namespace}/configmaps", configmap("visible"))
    async with make_client(kubeconfig=kubeconfig, denied_kinds="Secret, ClusterRole") as client:
        assert await call_error(client, "get_secrets", {"namespace": namespace}) == SECRET_DENIED
        for kind in ("Secret", "secrets", "secret", "SECRETS"):
            text = await call_error(client, "get_resources", {"kind": kind, "namespace": namespace})
            assert text == SECRET_DENIED, (kind, text)
        for kind in ("clusterroles", "clusterrole.rbac.authorization.k8s.io", "ClusterRole.rbac.authorization.k8s.io"):
            text = await call_error(client, "get_resources", {"kind": kind})
            assert text == "Refused: ClusterRoles are denied on this server (K3S_DENIED_KINDS).", (kind, text)
        # Other kinds, Roles of the same group included, are untouched.
        listed = await call(client, "get_configmaps", {"namespace": namespace})
        assert "visible" in json.dumps(listed)
        await call(client, "get_resources", {"kind": "roles", "namespace": namespace})


async def test_denied_kinds_take_short_names_and_wildcards(
    make_client: ClientFactory, kubeconfig: str, namespace: str
) -> None:
    async with make_client(kubeconfig=kubeconfig, denied_kinds="cm,*.rbac.authorization.k8s.io") as client:
        text = await call_error(client, "get_configmaps", {"namespace": namespace})
        assert text == "Refused: ConfigMaps are denied on this server (K3S_DENIED_KINDS).", text
        text = await call_error(client, "get_resources", {"kind": "rolebindings", "namespace": namespace})
        assert text == "Refused: RoleBindings are denied on this server (K3S_DENIED_KINDS).", text
        await call(client, "get_resources", {"kind": "serviceaccounts", "namespace": namespace})


EVENTS_DENIED = "Refused: Events are denied on this server (K3S_DENIED_KINDS)."


@pytest.mark.parametrize("denied", ["events.events.k8s.io", "Event.events.k8s.io", "events", "Event"])
async def test_events_denied_by_either_group_are_refused_in_both(
    make_client: ClientFactory, kubeconfig: str, namespace: str, denied: str
) -> None:
    """The API server serves the same Event objects as core `events` and as `events.events.k8s.io`: a rule naming
    one group must not leave the other way to them open."""
    async with make_client(kubeconfig=kubeconfig, denied_kinds=denied) as client:
        assert await call_error(client, "get_events", {"namespace": namespace}) == EVENTS_DENIED
        for kind in ("ev", "events", "Event", "events.events.k8s.io", "Event.events.k8s.io"):
            text = await call_error(client, "get_resources", {"kind": kind, "namespace": namespace})
            assert text == EVENTS_DENIED, (denied, kind, text)


async def test_apply_manifest_refuses_the_denied_object_only(
    make_client: ClientFactory, kubeconfig: str, namespace: str, cluster_api: ClusterAPI
) -> None:
    manifest = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  k: v\n---\n"
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: applied\nstringData:\n  k: v\n"
    )
    async with make_client(kubeconfig=kubeconfig, denied_kinds="Secret") as client:
        text = await call_error(client, "apply_manifest", {"manifest_yaml": manifest, "namespace": namespace})
    assert "1 of 2 objects failed" in text and SECRET_DENIED in text, text
    assert status_of(cluster_api, f"/api/v1/namespaces/{namespace}/configmaps/applied") == 200
    assert status_of(cluster_api, f"/api/v1/namespaces/{namespace}/secrets/applied") == 404


async def test_the_helm_command_route_is_refused_under_a_policy(
    make_client: ClientFactory, kubeconfig: str, namespace: str
) -> None:
    """helm's own requests cannot be checked (and it keeps releases in Secrets), so the route refuses."""
    async with make_client(kubeconfig=kubeconfig, denied_kinds="Secret") as client:
        text = await call_error(client, "list_helm_releases", {"namespace": namespace, "route": "helm"})
    assert text.startswith("Refused: route='helm' runs the helm command"), text


# -- K3S_ALLOWED_NAMESPACES ----------------------------------------------------------------------------------------


async def test_only_allowed_namespaces_are_reached(
    make_client: ClientFactory, kubeconfig: str, namespace: str, other_namespace: str, cluster_api: ClusterAPI
) -> None:
    pattern = namespace.rsplit("-", 1)[0] + "-*"  # a wildcard that matches the test's namespace only
    allowed = f"shop,{pattern}"
    refusal = (
        f"Refused: namespace {other_namespace!r} is not allowed on this server (K3S_ALLOWED_NAMESPACES={allowed})."
    )
    create(cluster_api, f"/api/v1/namespaces/{namespace}/configmaps", configmap("inside"))
    async with make_client(kubeconfig=kubeconfig, allowed_namespaces=allowed) as client:
        assert "inside" in json.dumps(await call(client, "get_configmaps", {"namespace": namespace}))
        assert await call_error(client, "get_configmaps", {"namespace": other_namespace}) == refusal
        assert await call_error(client, "get_configmap", {"name": "kept", "namespace": other_namespace}) == refusal
        text = await call_error(client, "delete_configmap", {"name": "kept", "namespace": other_namespace})
        assert text == refusal
        text = await call_error(
            client,
            "apply_manifest",
            {"manifest_yaml": json.dumps(configmap("planted")), "namespace": other_namespace},
        )
        assert refusal in text
        text = await call_error(
            client, "execute_command", {"pod_name": "any", "namespace": other_namespace, "command": ["true"]}
        )
        assert text == refusal
    assert status_of(cluster_api, f"/api/v1/namespaces/{other_namespace}/configmaps/kept") == 200
    assert status_of(cluster_api, f"/api/v1/namespaces/{other_namespace}/configmaps/planted") == 404


async def test_all_namespace_lists_are_refused_not_narrowed(
    make_client: ClientFactory, kubeconfig: str, namespace: str
) -> None:
    async with make_client(kubeconfig=kubeconfig, allowed_namespaces=namespace) as client:
        text = await call_error(client, "get_pods", {})
        assert text == (
            "Refused: listing pods across all namespaces is not allowed on this server "
            f"(K3S_ALLOWED_NAMESPACES={namespace}). Pass one of those namespaces."
        )
        await call(client, "get_pods", {"namespace": namespace})


async def test_namespace_objects_and_cluster_scoped_kinds_under_an_allow_list(
    make_client: ClientFactory, kubeconfig: str, namespace: str, other_namespace: str, cluster_api: ClusterAPI
) -> None:
    """A Namespace object only by an allowed name; other cluster-scoped kinds readable, never written."""
    role_name = f"t-planted-{uuid.uuid4().hex[:6]}"
    cluster_role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": role_name},
    }
    async with make_client(kubeconfig=kubeconfig, allowed_namespaces=namespace) as client:
        found = await call(client, "get_resource", {"kind": "Namespace", "name": namespace})
        assert namespace in json.dumps(found)
        text = await call_error(client, "get_resource", {"kind": "ns", "name": other_namespace})
        assert text.startswith(f"Refused: namespace {other_namespace!r} is not allowed"), text
        text = await call_error(client, "delete_resource", {"kind": "namespaces", "name": other_namespace})
        assert text.startswith(f"Refused: namespace {other_namespace!r} is not allowed"), text
        nodes = await call(client, "get_nodes", {})
        assert "k3s-server-0" in json.dumps(nodes)
        text = await call_error(client, "apply_manifest", {"manifest_yaml": json.dumps(cluster_role)})
        assert "Refused: ClusterRoles are cluster-scoped and shared by every namespace" in text, text
    phase = cluster_api.request("GET", f"/api/v1/namespaces/{other_namespace}")[1]["status"]["phase"]
    assert phase == "Active"
    assert status_of(cluster_api, f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{role_name}") == 404


# -- generated from the catalog: no tool reads or changes a denied Secret --------------------------------------


def aimed_at_the_secret(tool: Tool, namespace: str) -> dict[str, Any]:
    """Arguments that point `tool` at the victim Secret wherever a parameter can: its name, its kind, a manifest
    overwriting it; the namespace of the victims."""
    properties = tool.input_schema.get("properties") or {}
    arguments = {p: harmless(p, properties[p]) for p in tool.input_schema.get("required") or []}
    secret_manifest = json.dumps(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": VICTIM_SECRET}, "stringData": {"v": "overwritten"}}
    )
    for parameter, schema in properties.items():
        free_string = "string" in {schema.get("type"), *(o.get("type") for o in schema.get("anyOf") or [])}
        if parameter == "namespace":
            arguments[parameter] = namespace
        elif parameter == "kind" and free_string and not schema.get("enum"):
            arguments[parameter] = "Secret"
        elif parameter == "manifest_yaml":
            arguments[parameter] = secret_manifest
        elif parameter == "dry_run":
            arguments[parameter] = False
        elif parameter.endswith("name") and free_string and parameter not in ("container_name",):
            arguments[parameter] = VICTIM_SECRET
    return arguments


def reaches_secrets(tool: Tool) -> bool:
    """Whether the tool's own object is a Secret when aimed at one: Secret tools, free-kind tools and manifests
    (events *about* a kind are Events, not that kind)."""
    properties = tool.input_schema.get("properties") or {}
    kind = properties.get("kind") or {}
    free_kind = bool(kind) and not kind.get("enum") and "event" not in tool.name
    return "secret" in tool.name or free_kind or "manifest_yaml" in properties


@pytest.fixture(scope="module")
async def secrets_denied_client(kubeconfig: str) -> AsyncIterator[Client[Any]]:
    settings = Settings(kubeconfig=kubeconfig, denied_kinds="Secret", scale_wait_seconds=0, helm_timeout_seconds=20)
    async with Client(build_server(settings)) as client:
        yield client


@pytest.mark.parametrize("tool", CATALOG, ids=lambda t: t.name)
async def test_no_tool_reads_or_changes_a_denied_secret(
    tool: Tool, secrets_denied_client: Client[Any], victims: str, cluster_api: ClusterAPI
) -> None:
    before = snapshot(cluster_api, victims)
    assert all(not version.startswith("HTTP") for version in before.values()), before
    arguments = aimed_at_the_secret(tool, victims)
    result = await secrets_denied_client.call_tool(tool.name, arguments, raise_on_error=False)
    text = json.dumps([getattr(block, "text", "") for block in result.content]) + json.dumps(result.structured_content)
    assert not leaked(text), f"{tool.name} answered with the Secret's value"
    assert snapshot(cluster_api, victims) == before, f"{tool.name} changed the victims"
    if reaches_secrets(tool):
        assert result.is_error and "K3S_DENIED_KINDS" in text, f"{tool.name}{arguments} was not refused: {text[:300]}"


def test_the_secret_sweep_aims_at_every_way_to_a_secret() -> None:
    aimed = {t.name for t in CATALOG if reaches_secrets(t)}
    for must in ("get_secret", "get_secrets", "apply_secret", "delete_secret", "get_resource", "delete_resource"):
        assert must in aimed
    assert {"describe_object", "apply_manifest", "get_resources", "get_resource_objects"} <= aimed
    assert SECRET_VALUE.startswith("sweep-")


async def test_cluster_info_counts_pods_of_the_allowed_namespaces_only(
    make_client: ClientFactory, kubeconfig: str, namespace: str, other_namespace: str, cluster_api: ClusterAPI
) -> None:
    for where in (namespace, other_namespace):
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "counted"},
            "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]},
        }
        create(cluster_api, f"/api/v1/namespaces/{where}/pods", pod)
    async with make_client(kubeconfig=kubeconfig, allowed_namespaces=namespace) as client:
        info = await call(client, "get_cluster_info")
    assert info["pods"] == 1, info
    assert info["nodes"] >= 3
