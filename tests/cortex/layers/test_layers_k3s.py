"""The execution-k3s layer running k3s_mcp tools through a real MCP client against the real cluster."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from cortex.layers.client import HttpLayerClient, LayerCall, LayerDispatcher
from cortex.layers.contract import LayerRequest
from cortex.layers.k3s import K3sLayer
from cortex.layers.service import LayerRunner, build_layer_app
from cortex.layers.settings import K3sLayerSettings
from cortex.mcp_adapter import load_mcp_target
from k3s_mcp.server import build_server
from k3s_mcp.settings import Settings
from tests.cortex.layers.local_server import serve_app

pytestmark = pytest.mark.cluster

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27
"""


@pytest.fixture(scope="module")
async def k3s_runner(kubeconfig: str) -> AsyncIterator[LayerRunner]:
    server = build_server(Settings(kubeconfig=kubeconfig, scale_wait_seconds=60))
    runner = LayerRunner(K3sLayer(K3sLayerSettings(call_timeout_seconds=90), server=server))
    yield runner
    await runner.stop()


async def test_tools_become_actions_with_their_hints(k3s_runner: LayerRunner) -> None:
    specs = await k3s_runner.layer.action_specs()
    assert {"get_pods", "scale_deployment", "apply_manifest", "restart_pod"} <= set(specs)
    assert specs["get_pods"].read_only and not specs["get_pods"].requires_confirmation
    assert not specs["scale_deployment"].read_only and not specs["scale_deployment"].requires_confirmation
    assert specs["restart_pod"].requires_confirmation
    assert specs["delete_resource"].requires_confirmation
    assert "replicas" in specs["scale_deployment"].describe()["params"]["properties"]


async def test_apply_scale_and_list_through_the_layer(k3s_runner: LayerRunner, namespace: str) -> None:
    applied = await k3s_runner.execute(
        LayerRequest(action="apply_manifest", params={"manifest_yaml": DEPLOYMENT, "namespace": namespace})
    )
    assert applied.ok, applied.error
    scaled = await k3s_runner.execute(
        LayerRequest(action="scale_deployment", params={"name": "web", "replicas": 2, "namespace": namespace})
    )
    assert scaled.ok, scaled.error
    assert scaled.result["replicas"] == 2 and scaled.result["settled"] is True
    pods = await k3s_runner.execute(LayerRequest(action="get_pods", params={"namespace": namespace}))
    assert pods.ok, pods.error
    assert pods.result["count"] == 2
    assert all(row["name"].startswith("web-") for row in pods.result["items"])


async def test_destructive_tools_need_confirmation(k3s_runner: LayerRunner, namespace: str) -> None:
    response = await k3s_runner.execute(
        LayerRequest(action="restart_pod", params={"name": "nothing-here", "namespace": namespace})
    )
    assert response.status == 428
    assert response.error is not None and response.error.code == "confirmation_required"
    confirmed = await k3s_runner.execute(
        LayerRequest(action="restart_pod", params={"name": "nothing-here", "namespace": namespace}, confirm=True)
    )
    assert confirmed.status == 422
    assert confirmed.error is not None and "nothing-here" in confirmed.error.message


async def test_tool_errors_are_clear_rejections(k3s_runner: LayerRunner, namespace: str) -> None:
    missing = await k3s_runner.execute(
        LayerRequest(action="scale_deployment", params={"name": "ghost", "replicas": 1, "namespace": namespace})
    )
    assert missing.status == 422 and missing.error is not None
    assert "ghost" in missing.error.message and "Traceback" not in missing.error.message
    invalid = await k3s_runner.execute(
        LayerRequest(action="scale_deployment", params={"name": "web", "replicas": -1, "namespace": namespace})
    )
    assert invalid.status == 422 and invalid.error is not None
    assert "replicas" in invalid.error.message


async def test_k3s_layer_over_http(k3s_runner: LayerRunner) -> None:
    async with serve_app(build_layer_app(k3s_runner)) as url:
        dispatcher = LayerDispatcher({"k3s": HttpLayerClient("k3s", url, timeout=30)})
        result = await dispatcher.dispatch(LayerCall("k3s", "get_nodes"), actor="anna")
        await dispatcher.aclose()
    assert result.ok, result.response.error
    assert result.response.result["count"] >= 3  # the three nodes of the local cluster, plus any a benchmark adds


def test_mcp_target_names_a_server_or_url() -> None:
    assert load_mcp_target("http://127.0.0.1:8000/mcp") == "http://127.0.0.1:8000/mcp"
    with pytest.raises(Exception, match="neither module:attribute nor a URL"):
        load_mcp_target("k3s_mcp.server")
    with pytest.raises(Exception, match="cannot load"):
        load_mcp_target("k3s_mcp.server:no_such_thing")


async def test_k3s_layer_against_a_remote_k3s_mcp(kubeconfig: str) -> None:
    server = build_server(Settings(kubeconfig=kubeconfig))
    async with serve_app(server.http_app(path="/mcp")) as url:
        runner = LayerRunner(K3sLayer(K3sLayerSettings(mcp_target=f"{url}/mcp")))
        ready, reason = await runner.readiness()
        response = await runner.execute(LayerRequest(action="get_namespaces"))
        await runner.stop()
    assert ready, reason
    assert response.ok, response.error
    assert "default" in {row["name"] for row in response.result["items"]}


async def test_a_tool_the_confirmation_policy_holds_back_needs_consent_once(kubeconfig: str, namespace: str) -> None:
    """K3S_CONFIRM_TOOLS gives scale_deployment a `confirm` parameter: the layer asks for consent (428) by the one
    rule of cortex.mcp_adapter, and a confirmed call carries that consent to k3s_mcp, which then runs the tool."""
    server = build_server(Settings(kubeconfig=kubeconfig, confirm_tools="scale_deployment"))
    runner = LayerRunner(K3sLayer(server=server))
    params = {"name": "ghost", "replicas": 1, "namespace": namespace}
    try:
        spec = (await runner.layer.action_specs())["scale_deployment"]
        assert "confirm" in spec.describe()["params"]["properties"] and spec.requires_confirmation
        held = await runner.execute(LayerRequest(action="scale_deployment", params=params))
        assert held.status == 428 and held.error is not None and held.error.code == "confirmation_required"
        confirmed = await runner.execute(LayerRequest(action="scale_deployment", params=params, confirm=True))
    finally:
        await runner.stop()
    # The tool ran (and found no such Deployment) instead of being held back a second time by k3s_mcp.
    assert confirmed.status == 422 and confirmed.error is not None, confirmed
    assert "ghost" in confirmed.error.message and "Needs confirmation" not in confirmed.error.message
