"""End to end against the real cluster: requests become k3s_mcp tool calls; a scaled-to-zero layer is woken."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from cortex.activator.http_app import create_app
from cortex.activator.service import Activator
from cortex.activator.settings import ActivatorSettings
from k3s_mcp.server import build_server
from k3s_mcp.settings import Settings

pytestmark = pytest.mark.cluster


def deployment(name: str, replicas: int) -> str:
    return textwrap.dedent(
        f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {name}
        spec:
          replicas: {replicas}
          selector:
            matchLabels: {{app: {name}}}
          template:
            metadata:
              labels: {{app: {name}}}
            spec:
              containers:
                - name: main
                  image: registry.invalid/{name}:1
        """
    )


async def start_activator(kubeconfig: str, settings: ActivatorSettings) -> Activator:
    app = build_server(Settings(kubeconfig=kubeconfig, scale_wait_seconds=10))
    activator = Activator(settings, mcp_app=app)
    await activator.start()
    assert activator.executor is not None and activator.executor.connected, activator.problems
    return activator


async def replicas_of(activator: Activator, name: str, namespace: str) -> int:
    assert activator.executor is not None
    result = await activator.executor.call("get_deployment", {"name": name, "namespace": namespace})
    assert result.ok, result.error
    return int(result.data["replicas"])


@pytest.fixture
async def activator(kubeconfig: str, make_settings: Callable[..., ActivatorSettings]) -> AsyncIterator[Activator]:
    service = await start_activator(kubeconfig, make_settings())
    yield service
    await service.stop()


async def test_catalog_comes_from_the_live_server(activator: Activator) -> None:
    assert activator.catalog.source == "in-process k3s_mcp"
    assert {"scale_deployment", "get_pods", "delete_resource"} <= set(activator.catalog.names())
    assert activator.catalog.tools["delete_resource"].destructive


async def test_scale_web_to_3_scales_the_deployment(activator: Activator, namespace: str) -> None:
    assert activator.executor is not None
    created = await activator.executor.call(
        "apply_manifest", {"manifest_yaml": deployment("web", 1), "namespace": namespace}
    )
    assert created.ok, created.error
    app = create_app(activator.settings, activator=activator)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a") as http:
        response = await http.post("/query", json={"query": f"scale web to 3 in {namespace}"})
        body: dict[str, Any] = response.json()
        assert response.status_code == 200, body
        assert body["status"] == "executed" and body["tool"] == "scale_deployment", body
        assert body["result"]["ok"], body
        assert await replicas_of(activator, "web", namespace) == 3
        metrics = (await http.get("/metrics")).text
        assert 'cortex_activator_queries_total{outcome="executed",tier="keyword"}' in metrics
        # A missing deployment: the tool's own error comes back, worded by k3s_mcp, and nothing crashes.
        missing = (await http.post("/query", json={"query": f"scale nosuch to 2 in {namespace}"})).json()
        assert missing["status"] == "failed" and "nosuch" in missing["message"]
        assert "Traceback" not in missing["message"]


async def test_destructive_request_runs_only_when_confirmed(activator: Activator, namespace: str) -> None:
    assert activator.executor is not None
    created = await activator.executor.call(
        "apply_manifest", {"manifest_yaml": deployment("old-api", 1), "namespace": namespace}
    )
    assert created.ok, created.error
    from cortex.activator.service import QueryRequest

    held = await activator.handle(QueryRequest(query=f"delete deployment old-api in {namespace}"))
    assert held.status == "needs_confirmation" and not held.executed
    assert await replicas_of(activator, "old-api", namespace) == 1
    done = await activator.handle(QueryRequest(query=f"delete deployment old-api in {namespace}", confirm=True))
    assert done.status == "executed", done
    gone = await activator.executor.call("get_deployment", {"name": "old-api", "namespace": namespace})
    assert not gone.ok


async def test_sleeping_layer_is_woken_through_k3s_mcp_then_503(
    kubeconfig: str, namespace: str, make_settings: Callable[..., ActivatorSettings]
) -> None:
    # Nothing listens on port 9 of the loopback interface: the classifier "pod" never becomes healthy here.
    settings = make_settings(
        classifier_url="http://127.0.0.1:9",
        classifier_deployment="classifier",
        layers_namespace=namespace,
        wake_timeout_seconds=1.5,
        retry_after_seconds=7,
    )
    activator = await start_activator(kubeconfig, settings)
    try:
        assert activator.executor is not None
        created = await activator.executor.call(
            "apply_manifest", {"manifest_yaml": deployment("classifier", 0), "namespace": namespace}
        )
        assert created.ok, created.error
        app = create_app(settings, activator=activator)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a") as http:
            response = await http.post("/query", json={"query": "could the checkout thing get beefier please"})
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == "7"
            assert "classifier" in response.json()["error"]
            assert await replicas_of(activator, "classifier", namespace) == 1
            metrics = (await http.get("/metrics")).text
            assert 'cortex_activator_cold_starts_total{layer="reasoning-classifier"} 1.0' in metrics
            assert 'cortex_activator_pending_requests{layer="reasoning-classifier"} 0.0' in metrics
    finally:
        await activator.stop()
