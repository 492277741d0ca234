"""Scale from zero end to end: the activator holds a request, the real KEDA operator (or the activator itself,
with KEDA off) wakes the layer's Deployment, the layer's process answers, and KEDA puts the layer back to zero.

The cluster is the test cluster with the autoscaling profile (KEDA's operator and metrics server, Prometheus). The
ScaledObject is the cortex chart's, rendered by ``helm template`` with Prometheus' address and a short polling
interval and cooldown. The pods are KWOK's, so the bench's LayerBridge starts the layer's process on this machine
while its Deployment has a ready replica (bench/wake.py measures the same wakes).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastmcp import Client

from bench.wake import BLOCK_QUERY, CLASSIFIER_QUERY, UNIFI_API_LAYER, Flow, chart_env, direct_flow, keda_flow
from bench.wake_parts import COOLDOWN_SECONDS, MAC, POLLING_SECONDS, prometheus_value, timed_query, wait_for
from devcluster import prometheus
from devcluster.api import ClusterAPI
from devcluster.state import state_dir
from k3s_mcp.server import build_server
from k3s_mcp.settings import Settings
from tests.cortex.layers.local_server import serve_app
from tests.cortex.layers.unifi_controller_emulator import UnifiControllerEmulator
from tests.k3s_mcp.conftest import call

pytestmark = pytest.mark.cluster

# KEDA scales within a polling interval of Prometheus seeing the gauge; the rest is scrape, API and KWOK time on
# a busy 2-core machine. A bound, not a speed claim (bench/wake.py measures it).
WAKE_BOUND_SECONDS = POLLING_SECONDS + 30
SLEEP_BOUND_SECONDS = COOLDOWN_SECONDS + 60


@pytest.fixture
async def controller() -> AsyncIterator[tuple[UnifiControllerEmulator, dict[str, str]]]:
    """The local UniFi controller and the environment the unifi-api layer process reaches it with."""
    emulator = UnifiControllerEmulator()
    async with serve_app(emulator.app) as url:
        yield (
            emulator,
            {
                "CORTEX_UNIFI_CONTROLLER_URL": url,
                "CORTEX_UNIFI_USERNAME": emulator.username,
                "CORTEX_UNIFI_PASSWORD": emulator.password,
                "CORTEX_UNIFI_SITE": emulator.site,
            },
        )


@pytest.fixture
async def keda_path(
    autoscaling_kubeconfig: str,
    cluster_api: ClusterAPI,
    namespace: str,
    tmp_path: Path,
    controller: tuple[UnifiControllerEmulator, dict[str, str]],
) -> AsyncIterator[Flow]:
    async with keda_flow(
        state_dir(), cluster_api, Path(autoscaling_kubeconfig), namespace, tmp_path, controller[1]
    ) as flow:
        yield flow


def get(api: ClusterAPI, path: str) -> Any:
    status, answer = api.request("GET", path)
    return answer if status == 200 else None


def conditions(api: ClusterAPI, namespace: str, name: str) -> dict[str, str]:
    found = get(api, f"/apis/keda.sh/v1alpha1/namespaces/{namespace}/scaledobjects/{name}") or {}
    return {c["type"]: c["status"] for c in (found.get("status") or {}).get("conditions") or []}


def keda_hpa(api: ClusterAPI, namespace: str, name: str) -> Any:
    return get(api, f"/apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers/keda-hpa-{name}")


def keda_events(api: ClusterAPI, namespace: str, name: str) -> list[str] | None:
    """`reason: note` of the operator's activation and deactivation events on the ScaledObject, once both exist."""
    listing = get(api, f"/apis/events.k8s.io/v1/namespaces/{namespace}/events") or {}
    found = sorted(
        (e.get("eventTime") or e["metadata"]["creationTimestamp"], f"{e['reason']}: {e.get('note', '')}")
        for e in listing.get("items") or []
        if e.get("regarding", {}).get("name") == name and e.get("reason", "").startswith("KEDAScaleTarget")
    )
    moves = [text for _, text in found]
    return moves if len(moves) >= 2 else None


def query_task(flow: Flow, text: str) -> asyncio.Task[httpx.Response]:
    return asyncio.create_task(flow.http.post(f"{flow.activator_url}/query", json={"query": text}, timeout=180))


async def held(flow: Flow, request: asyncio.Task[httpx.Response], promql: str) -> None:
    """The request waits, the activator's gauge is up, and Prometheus (which KEDA asks) has seen it."""

    async def raised() -> bool:
        return await flow.pending(UNIFI_API_LAYER) == 1.0

    async def scraped() -> bool:
        return await prometheus_value(state_dir(), promql) == 1.0

    await wait_for(raised, 15, "the activator's pending gauge to rise")
    await wait_for(scraped, 15, "Prometheus to see the pending request")
    assert not request.done()


async def test_keda_wakes_the_layer_for_a_held_request_and_puts_it_back_to_zero(
    keda_path: Flow, controller: tuple[UnifiControllerEmulator, dict[str, str]]
) -> None:
    flow, emulator = keda_path, controller[0]
    assert flow.scaled_object is not None
    name, spec = flow.scaled_object["metadata"]["name"], flow.scaled_object["spec"]
    trigger = spec["triggers"][0]
    assert (spec["pollingInterval"], spec["cooldownPeriod"], spec["minReplicaCount"]) == (
        POLLING_SECONDS,
        COOLDOWN_SECONDS,
        0,
    )
    assert trigger["type"] == "prometheus" and trigger["metadata"]["serverAddress"] == prometheus.url(state_dir())
    # With KEDA on, the chart leaves scaling to KEDA: the activator is given no Deployment to scale itself.
    assert "CORTEX_CLASSIFIER_DEPLOYMENT" not in chart_env(flow.rendered)

    # The operator, not the test, makes the HPA, owned by the chart's ScaledObject, and reconciles it Ready.
    hpa = await wait_for(lambda: keda_hpa(flow.api, flow.namespace, name), 60, "KEDA's HPA")
    assert [(o["kind"], o["name"]) for o in hpa["metadata"]["ownerReferences"]] == [("ScaledObject", name)]
    await wait_for(lambda: conditions(flow.api, flow.namespace, name).get("Ready") == "True", 60, "Ready")
    assert flow.replicas() == (0, 0)

    request = query_task(flow, BLOCK_QUERY)
    await held(flow, request, trigger["metadata"]["query"])
    assert emulator.requests == [] and not flow.bridge.running
    await wait_for(lambda: flow.replicas()[0] == 1, WAKE_BOUND_SECONDS, "KEDA to scale the layer to 1", flow.bridge)

    response = await asyncio.wait_for(request, 120)
    body = response.json()
    assert response.status_code == 200, body
    assert (body["status"], body["layer"], body["tool"]) == ("executed", "unifi-api", "block_client"), body
    assert emulator.stations[MAC]["blocked"] is True
    assert len(flow.bridge.started_at) == 1
    assert await flow.pending(UNIFI_API_LAYER) == 0.0

    # Nothing waits any more: after the cooldown KEDA scales the layer back to zero (and the bridge stops it).
    await wait_for(lambda: flow.replicas() == (0, 0), SLEEP_BOUND_SECONDS, "KEDA to scale back to 0", flow.bridge)
    await wait_for(lambda: not flow.bridge.running, 30, "the layer process to stop", flow.bridge)
    # Who scaled: the operator records both moves as events on the ScaledObject (the test never scales, and the
    # activator cannot scale an execution layer).
    moves = await wait_for(lambda: keda_events(flow.api, flow.namespace, name), 30, "KEDA's scale events")
    assert moves[0].startswith("KEDAScaleTargetActivated: Scaled apps/v1.Deployment") and "from 0 to 1" in moves[0]
    assert moves[1].startswith("KEDAScaleTargetDeactivated"), moves


async def test_a_paused_scaled_object_keeps_the_layer_asleep_until_resumed(
    keda_path: Flow, autoscaling_kubeconfig: str
) -> None:
    flow = keda_path
    assert flow.scaled_object is not None
    name = flow.scaled_object["metadata"]["name"]
    await wait_for(lambda: keda_hpa(flow.api, flow.namespace, name), 60, "KEDA's HPA")
    async with Client(build_server(Settings(kubeconfig=autoscaling_kubeconfig))) as mcp:
        paused = await call(mcp, "pause_keda_scaler", {"name": name, "namespace": flow.namespace})
        assert paused["row"]["paused"] == "true"
        # The operator takes the pause: Paused condition, scale loop stopped, its HPA deleted.
        await wait_for(lambda: conditions(flow.api, flow.namespace, name).get("Paused") == "True", 60, "Paused")
        await wait_for(lambda: keda_hpa(flow.api, flow.namespace, name) is None, 60, "the HPA deleted")

        request = query_task(flow, BLOCK_QUERY)
        await held(flow, request, flow.scaled_object["spec"]["triggers"][0]["metadata"]["query"])
        # Several polling intervals with the gauge up in Prometheus: a paused ScaledObject leaves the layer at 0.
        for _ in range(4 * POLLING_SECONDS + 4):
            assert flow.replicas() == (0, 0) and not request.done()
            await asyncio.sleep(1)

        resumed = await call(mcp, "resume_keda_scaler", {"name": name, "namespace": flow.namespace})
        assert resumed["row"]["paused"] is None
        await wait_for(lambda: flow.replicas()[0] == 1, WAKE_BOUND_SECONDS + 30, "the resumed KEDA to wake it")
        response = await asyncio.wait_for(request, 120)
        assert response.status_code == 200 and response.json()["status"] == "executed", response.text
        await wait_for(lambda: keda_hpa(flow.api, flow.namespace, name), 60, "the HPA made again")


async def test_without_keda_the_activator_scales_the_classifier_itself(
    kubeconfig: str, cluster_api: ClusterAPI, namespace: str, tmp_path: Path
) -> None:
    async with direct_flow(cluster_api, Path(kubeconfig), namespace, tmp_path) as flow:
        assert not [o for o in flow.rendered if o["kind"] == "ScaledObject"]
        assert flow.replicas() == (0, 0)
        sample = await timed_query(flow.http, flow.activator_url, CLASSIFIER_QUERY, flow.bridge, within=300)
        assert sample.status == 200, sample.body
        # The activator scaled the Deployment through k3s_mcp (the test never did), then held the request until
        # llama.cpp's server answered; the reply came from tier 3.
        assert flow.replicas()[0] == 1 and len(flow.bridge.started_at) == 1
        assert sample.scaled <= sample.ready <= sample.answered
        metrics = (await flow.http.get(f"{flow.activator_url}/metrics")).text
        assert 'cortex_activator_cold_starts_total{layer="reasoning-classifier"} 1.0' in metrics
        assert 'cortex_activator_tier_latency_seconds_count{tier="classifier"} 1.0' in metrics, metrics
