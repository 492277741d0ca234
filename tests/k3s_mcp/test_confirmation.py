"""The confirmation policy: held-back calls change nothing until repeated with confirm=true (or accepted)."""

from __future__ import annotations

from typing import Any

import pytest
from fastmcp import Client
from fastmcp.client.elicitation import ElicitResult

from devcluster.api import ClusterAPI, deployment
from k3s_mcp.server import build_server
from k3s_mcp.settings import Settings
from tests.k3s_mcp.conftest import ClientFactory, call, call_error, create

pytestmark = pytest.mark.cluster


def make_config_map(cluster_api: ClusterAPI, namespace: str, name: str) -> None:
    create(
        cluster_api,
        f"/api/v1/namespaces/{namespace}/configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}},
    )


def config_map_status(cluster_api: ClusterAPI, namespace: str, name: str) -> int:
    return cluster_api.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/{name}")[0]


async def test_namespace_rule_holds_back_until_confirmed(
    make_client: ClientFactory, kubeconfig: str, cluster_api: ClusterAPI, namespace: str
) -> None:
    make_config_map(cluster_api, namespace, "settings")
    async with make_client(
        kubeconfig=kubeconfig, confirm_namespaces=f"kube-system,{namespace[:4]}*", toolsets="all"
    ) as client:
        tools = {tool.name: tool for tool in await client.list_tools()}
        assert "confirm" in tools["delete_resource"].input_schema["properties"]
        assert "confirm" in tools["delete_keda_scaler"].input_schema["properties"]
        assert "confirm" not in tools["get_pods"].input_schema["properties"]
        assert "confirm" not in tools["scale_deployment"].input_schema["properties"]

        arguments = {"kind": "ConfigMap", "name": "settings", "namespace": namespace}
        message = await call_error(client, "delete_resource", arguments)
        assert message.startswith("Needs confirmation:") and "confirm=true" in message
        assert f"namespace {namespace!r} matches K3S_CONFIRM_NAMESPACES" in message
        assert "Nothing was changed" in message
        assert config_map_status(cluster_api, namespace, "settings") == 200

        await call(client, "delete_resource", {**arguments, "confirm": True})
        assert config_map_status(cluster_api, namespace, "settings") == 404

        # Outside the listed namespaces the same tool runs at once.
        listed = await call(client, "get_namespaces")
        assert listed["count"] > 0


async def test_kind_and_verb_rules(
    make_client: ClientFactory, kubeconfig: str, cluster_api: ClusterAPI, namespace: str
) -> None:
    make_config_map(cluster_api, namespace, "plain")
    create(
        cluster_api,
        f"/api/v1/namespaces/{namespace}/secrets",
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}, "stringData": {"p": "x"}},
    )
    async with make_client(kubeconfig=kubeconfig, confirm_kinds="Secret", confirm_verbs="restart") as client:
        await call(client, "delete_resource", {"kind": "configmap", "name": "plain", "namespace": namespace})
        assert config_map_status(cluster_api, namespace, "plain") == 404
        message = await call_error(
            client, "delete_resource", {"kind": "secrets", "name": "creds", "namespace": namespace}
        )
        assert "kind 'Secret' matches K3S_CONFIRM_KINDS pattern 'Secret'" in message
        assert cluster_api.request("GET", f"/api/v1/namespaces/{namespace}/secrets/creds")[0] == 200
        message = await call_error(client, "restart_pod", {"name": "any", "namespace": namespace})
        assert "verb 'restart' is listed in K3S_CONFIRM_VERBS" in message


async def test_tool_rule_covers_a_write_tool(
    make_client: ClientFactory, kubeconfig: str, cluster_api: ClusterAPI, namespace: str
) -> None:
    create(cluster_api, f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment("web", replicas=1))
    async with make_client(kubeconfig=kubeconfig, confirm_tools="scale_*") as client:
        tools = {tool.name: tool for tool in await client.list_tools()}
        assert "confirm" in tools["scale_deployment"].input_schema["properties"]
        arguments = {"name": "web", "namespace": namespace, "replicas": 3, "wait": False}
        message = await call_error(client, "scale_deployment", arguments)
        assert "tool 'scale_deployment' matches K3S_CONFIRM_TOOLS pattern 'scale_*'" in message
        _, stored = cluster_api.request("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/web")
        assert stored["spec"]["replicas"] == 1
        await call(client, "scale_deployment", {**arguments, "confirm": True})
        _, stored = cluster_api.request("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/web")
        assert stored["spec"]["replicas"] == 3


async def test_no_policy_adds_no_parameter(mcp_client: Client[Any]) -> None:
    tools = await mcp_client.list_tools()
    assert not [tool.name for tool in tools if "confirm" in tool.input_schema["properties"]]
    message = await call_error(mcp_client, "delete_resource", {"kind": "pod", "name": "x", "confirm": "yes"})
    assert message == "Invalid argument `confirm`: must be true or false, got 'yes'."


async def test_elicitation_capable_client_is_asked(kubeconfig: str, cluster_api: ClusterAPI, namespace: str) -> None:
    make_config_map(cluster_api, namespace, "keep")
    make_config_map(cluster_api, namespace, "drop")
    asked: list[str] = []

    async def answer(message: str, response_type: Any, params: Any, context: Any) -> Any:
        asked.append(message)
        if "'keep'" in message:
            return ElicitResult(action="decline")
        return "run"

    app = build_server(Settings(kubeconfig=kubeconfig, confirm_kinds="ConfigMap"))
    # Handshake-era connections carry server-initiated elicitation requests.
    async with Client(app, elicitation_handler=answer, mode="legacy") as client:
        message = await call_error(
            client, "delete_resource", {"kind": "ConfigMap", "name": "keep", "namespace": namespace}
        )
        assert "was not confirmed (decline)" in message
        assert config_map_status(cluster_api, namespace, "keep") == 200
        await call(client, "delete_resource", {"kind": "ConfigMap", "name": "drop", "namespace": namespace})
        assert config_map_status(cluster_api, namespace, "drop") == 404
    assert len(asked) == 2 and "K3S_CONFIRM_KINDS" in asked[0]


async def test_modern_connection_falls_back_to_confirm_argument(
    kubeconfig: str, cluster_api: ClusterAPI, namespace: str
) -> None:
    make_config_map(cluster_api, namespace, "kept")
    asked: list[str] = []

    async def answer(message: str, response_type: Any, params: Any, context: Any) -> Any:
        asked.append(message)
        return "run"

    app = build_server(Settings(kubeconfig=kubeconfig, confirm_kinds="ConfigMap"))
    async with Client(app, elicitation_handler=answer) as client:
        arguments = {"kind": "ConfigMap", "name": "kept", "namespace": namespace}
        message = await call_error(client, "delete_resource", arguments)
        assert message.startswith("Needs confirmation:")
        assert config_map_status(cluster_api, namespace, "kept") == 200
        await call(client, "delete_resource", {**arguments, "confirm": True})
        assert config_map_status(cluster_api, namespace, "kept") == 404
    assert asked == []
