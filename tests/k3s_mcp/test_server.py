"""The assembled app: tool catalogue and annotations, read-only and destructive switches, error paths."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import yaml
from fastmcp import Client
from mcp_types.version import LATEST_HANDSHAKE_VERSION, LATEST_MODERN_VERSION

from devcluster.api import ClusterAPI
from k3s_mcp.server import build_server
from k3s_mcp.settings import Settings
from tests.k3s_mcp.conftest import ClientFactory, call, call_error, create, read_yaml

CORE_TOOLS = {
    "get_pods": ("read", {"namespace", "labels"}),
    "get_logs": ("read", {"pod_name", "namespace", "container", "tail_lines", "previous", "since_seconds"}),
    "restart_pod": ("destructive", {"name", "namespace"}),
    "execute_command": ("destructive", {"pod_name", "namespace", "command", "container"}),
    "get_deployments": ("read", {"namespace"}),
    "get_deployment": ("read", {"name", "namespace"}),
    "scale_deployment": ("write", {"name", "namespace", "replicas"}),
    "get_nodes": ("read", set()),
    "get_services": ("read", {"namespace"}),
    "get_cluster_info": ("read", set()),
    "get_namespaces": ("read", set()),
    "apply_manifest": ("write", {"manifest_yaml", "namespace", "dry_run"}),
    "delete_resource": ("destructive", {"kind", "name", "namespace", "dry_run"}),
}


def tool_tags(tool: Any) -> set[str]:
    return set(((tool.meta or {}).get("fastmcp") or {}).get("tags") or [])


async def test_every_core_tool_is_listed_with_parameters_annotations_and_tags(
    mcp_client: Client[Any],
) -> None:
    tools = {tool.name: tool for tool in await mcp_client.list_tools()}
    for name, (kind, parameters) in CORE_TOOLS.items():
        tool = tools[name]
        assert parameters <= set(tool.input_schema["properties"]), name
        assert tool.title and tool.description, name
        hints = tool.annotations
        assert hints is not None and hints.open_world_hint is True, name
        assert hints.read_only_hint is (kind == "read"), name
        assert hints.destructive_hint is (kind == "destructive"), name
        assert kind in tool_tags(tool) or (kind == "destructive" and "destructive" in tool_tags(tool)), name
    list_tools = ["get_pods", "get_deployments", "get_nodes", "get_services", "get_namespaces"]
    for name in list_tools:
        assert {"limit", "continue_token"} <= set(tools[name].input_schema["properties"]), name


async def test_read_only_mode_hides_and_refuses_writes(
    make_client: ClientFactory, kubeconfig: str, cluster_api: ClusterAPI, namespace: str
) -> None:
    async with make_client(kubeconfig=kubeconfig, read_only=True) as client:
        names = {tool.name for tool in await client.list_tools()}
        assert names >= {n for n, (kind, _) in CORE_TOOLS.items() if kind == "read"}
        assert not names & {n for n, (kind, _) in CORE_TOOLS.items() if kind != "read"}
        manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: sneaky}\n"
        message = await call_error(client, "apply_manifest", {"manifest_yaml": manifest, "namespace": namespace})
        assert "read-only" in message and "K3S_READ_ONLY" in message
        status, _ = cluster_api.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/sneaky")
        assert status == 404
        rows = await call(client, "get_pods", {"namespace": namespace})
        assert rows["count"] == 0


async def test_destructive_tools_can_be_turned_off_alone(make_client: ClientFactory, kubeconfig: str) -> None:
    async with make_client(kubeconfig=kubeconfig, allow_destructive=False) as client:
        names = {tool.name for tool in await client.list_tools()}
        assert {"apply_manifest", "scale_deployment", "get_pods"} <= names
        assert not names & {"delete_resource", "restart_pod", "execute_command"}
        message = await call_error(client, "delete_resource", {"kind": "pod", "name": "x"})
        assert "K3S_ALLOW_DESTRUCTIVE" in message


async def test_forbidden_call_names_verb_and_resource(
    make_client: ClientFactory, kubeconfig: str, cluster_api: ClusterAPI, namespace: str, tmp_path: Path
) -> None:
    base = f"/api/v1/namespaces/{namespace}"
    create(
        cluster_api,
        f"{base}/serviceaccounts",
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "viewer"}},
    )
    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}"
    create(
        cluster_api,
        f"{rbac}/roles",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "pod-reader"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}],
        },
    )
    create(
        cluster_api,
        f"{rbac}/rolebindings",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "viewer-reads-pods"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "viewer", "namespace": namespace}],
        },
    )
    status, answer = cluster_api.request(
        "POST",
        f"{base}/serviceaccounts/viewer/token",
        {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": 600},
        },
    )
    assert status == 201, answer
    admin = read_yaml(kubeconfig)
    context = next(c["context"] for c in admin["contexts"] if c["name"] == admin["current-context"])
    cluster = next(c["cluster"] for c in admin["clusters"] if c["name"] == context["cluster"])
    restricted = tmp_path / "viewer.kubeconfig"
    restricted.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "test", "cluster": cluster}],
                "users": [{"name": "viewer", "user": {"token": answer["status"]["token"]}}],
                "contexts": [
                    {
                        "name": "viewer",
                        "context": {"cluster": "test", "user": "viewer", "namespace": namespace},
                    }
                ],
                "current-context": "viewer",
            }
        )
    )
    async with make_client(kubeconfig=str(restricted), default_namespace=namespace) as client:
        allowed = await call(client, "get_pods", {"namespace": namespace})
        assert allowed["count"] == 0
        message = await call_error(client, "get_deployments", {"namespace": namespace})
        assert "Forbidden" in message and "list deployments.apps" in message and namespace in message
        message = await call_error(client, "delete_resource", {"kind": "pod", "name": "x", "namespace": namespace})
        assert "delete pods" in message and "Role" in message


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_dead_api_server_is_reported_not_raised(
    make_client: ClientFactory, kubeconfig: str, tmp_path: Path
) -> None:
    config = read_yaml(kubeconfig)
    port = closed_port()
    for entry in config["clusters"]:
        entry["cluster"]["server"] = f"https://127.0.0.1:{port}"
    dead = tmp_path / "dead.kubeconfig"
    dead.write_text(yaml.safe_dump(config))
    async with make_client(kubeconfig=str(dead), request_timeout_seconds=5) as client:
        message = await call_error(client, "get_nodes")
        assert f"Cannot reach the Kubernetes API server at https://127.0.0.1:{port}" in message
        assert str(dead) in message


async def test_missing_kubeconfig_does_not_stop_the_server(make_client: ClientFactory, tmp_path: Path) -> None:
    missing = tmp_path / "absent" / "config"
    async with make_client(kubeconfig=str(missing)) as client:
        assert "get_pods" in {tool.name for tool in await client.list_tools()}
        message = await call_error(client, "get_pods")
        assert str(missing) in message and "KUBECONFIG" in message


async def test_broken_kubeconfig_names_the_file(make_client: ClientFactory, tmp_path: Path) -> None:
    broken = tmp_path / "broken.kubeconfig"
    broken.write_text("apiVersion: v1\nkind: Config\ncurrent-context: nowhere\ncontexts: []\nclusters: []\nusers: []\n")
    async with make_client(kubeconfig=str(broken)) as client:
        message = await call_error(client, "get_namespaces")
        assert str(broken) in message and "could not be loaded" in message


async def test_bad_arguments_are_clear(mcp_client: Client[Any]) -> None:
    message = await call_error(mcp_client, "get_pods", {"limit": 0})
    assert message == "Invalid argument `limit`: must be at least 1, got 0."
    message = await call_error(mcp_client, "get_pods", {"limit": 9000})
    assert message == "Invalid argument `limit`: must be at most 5000, got 9000."
    message = await call_error(mcp_client, "get_deployment", {})
    assert message == "Missing required argument `name`."
    message = await call_error(mcp_client, "scale_deployment", {"name": "web", "replicas": "three"})
    assert message == "Invalid argument `replicas`: must be an integer, got 'three'."


async def test_the_newest_protocol_revision_is_negotiated_in_both_eras(kubeconfig: str) -> None:
    """The installed SDK's newest revision (2026-07-28, no handshake) for a client that speaks it, and the newest
    handshake revision for a client that starts with `initialize`."""
    app = build_server(Settings(kubeconfig=kubeconfig))
    async with Client(app) as modern:
        assert modern.protocol_version == LATEST_MODERN_VERSION == "2026-07-28"
    async with Client(app, mode="legacy") as legacy:
        assert legacy.protocol_version == LATEST_HANDSHAKE_VERSION == "2025-11-25"
        assert legacy.initialize_result is not None
        assert legacy.initialize_result.server_info.name == "k3s-mcp"
