"""Wake time of a scaled-to-zero Cortex layer, request to answer: through KEDA, and through the activator itself.

Both paths run the real parts on 127.0.0.1: a private local cluster with the ``autoscaling`` profile (its own state
directory and port, so the shared cluster is never touched; KEDA's operator and metrics server, Prometheus), the
activator (``cortex serve``) and the layer as host processes.

* KEDA: the cortex chart's ScaledObject for ``unifi-api`` (``helm template`` with Prometheus' address, polling
  1 s and cooldown 5 s) scales the layer's Deployment on ``cortex_activator_pending_requests``, which Prometheus
  scrapes from the activator; the activator only holds the request and raises the gauge.
* Direct: KEDA off (``keda.enabled=false``, so the chart gives the activator ``CORTEX_CLASSIFIER_DEPLOYMENT``); the
  activator scales the classifier's Deployment through k3s_mcp and waits for llama.cpp's server (tier 3's model).

The pods are KWOK's, so a :class:`~bench.wake_parts.LayerBridge` plays the kubelet: while the Deployment has a ready
replica the layer's process runs on this machine at the URL the activator was given. Each sample splits the wake
into request -> Deployment at 1 replica -> a ready replica -> answered.

Usage: ``python -m bench.wake OUTPUT.json [--rounds N]``; ``bench.run`` can ``await bench.wake.run(path, rounds)``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.wake_parts import (
    MAC,
    RELEASE,
    LayerBridge,
    WakeSample,
    activator_command,
    base_env,
    classifier_command,
    create_namespace,
    deployment_status,
    keda_settings,
    layer_deployment,
    program,
    prometheus_value,
    render_cortex,
    scaled_object_for,
    scraped,
    summary,
    timed_query,
    unifi_api_layer_command,
    wait_for,
)
from cortex.activator.network import AWAKE_SECONDS
from cortex.activator.tiers.model_endpoint import ChatEndpoint
from devcluster.api import ClusterAPI
from devcluster.processes import free_port

UNIFI_API_DEPLOYMENT = f"{RELEASE}-cortex-unifi-api"
UNIFI_API_LAYER = "unifi-api"
BLOCK_QUERY = f"block client {MAC}"
# Tiers 1 and 2 do not match this request; tier 3 (the classifier) decides it.
CLASSIFIER_QUERY = "could the checkout thing get beefier please"
START_MODEL_SECONDS = 180.0


@dataclass
class Flow:
    """A running wake path: the activator's URL, the bridge of the sleeping layer, what the chart rendered."""

    api: ClusterAPI
    namespace: str
    activator_url: str
    bridge: LayerBridge
    http: httpx.AsyncClient
    rendered: list[dict[str, Any]]
    scaled_object: dict[str, Any] | None = None

    async def pending(self, layer: str) -> float:
        """The activator's own cortex_activator_pending_requests{layer=`layer`}."""
        text = (await self.http.get(f"{self.activator_url}/metrics")).text
        prefix = f'cortex_activator_pending_requests{{layer="{layer}"}} '
        for line in text.splitlines():
            if line.startswith(prefix):
                return float(line[len(prefix) :])
        raise RuntimeError(f"the activator exports no pending-requests series for {layer}")

    def replicas(self) -> tuple[int, int]:
        """(spec.replicas, status.readyReplicas) of the layer's Deployment."""
        return deployment_status(self.api, self.namespace, self.bridge.deployment)


def chart_env(objects: Sequence[dict[str, Any]]) -> dict[str, str]:
    """The activator container's environment as the chart renders it (plain values only)."""
    for obj in objects:
        if obj.get("kind") == "Deployment" and obj["metadata"]["name"].endswith("-activator"):
            container = obj["spec"]["template"]["spec"]["containers"][0]
            return {item["name"]: item["value"] for item in container.get("env") or [] if "value" in item}
    raise RuntimeError("the chart rendered no activator Deployment")


def activator_env(kubeconfig: Path, namespace: str, rendered: Mapping[str, str], **urls: str) -> dict[str, str]:
    """What `cortex serve` gets: the chart's CORTEX_*_DEPLOYMENT settings, local URLs, tiers 1 and 3."""
    keep = ("CORTEX_CLASSIFIER_DEPLOYMENT", "CORTEX_REASONING_DEPLOYMENT", "CORTEX_CLASSIFIER_MODEL")
    return base_env(
        KUBECONFIG=str(kubeconfig),
        CORTEX_SIMILARITY_ENABLED="false",
        CORTEX_WAKE_TIMEOUT_SECONDS="120",
        CORTEX_DEFAULT_NAMESPACE=namespace,
        CORTEX_LAYERS_NAMESPACE=namespace,
        **{key: rendered[key] for key in keep if key in rendered},
        **urls,
    )


def create(api: ClusterAPI, path: str, obj: dict[str, Any]) -> None:
    status, answer = api.request("POST", path, obj)
    if status != 201:
        raise RuntimeError(f"creating {obj['kind']} {obj['metadata']['name']}: {status} {answer}")


@contextlib.asynccontextmanager
async def keda_flow(
    state: Path, api: ClusterAPI, kubeconfig: Path, namespace: str, workdir: Path, layer_env: Mapping[str, str]
) -> AsyncIterator[Flow]:
    """The unifi-api layer at zero behind the chart's ScaledObject; KEDA wakes it on the activator's gauge.

    `state` is the cluster's (with the autoscaling profile): its Prometheus scrapes the activator meanwhile.
    """
    layer_port, activator_port = free_port(), free_port()
    create(api, f"/apis/apps/v1/namespaces/{namespace}/deployments", layer_deployment(UNIFI_API_DEPLOYMENT))
    activator_url = f"http://127.0.0.1:{activator_port}"
    job = f"activator-{namespace}"
    with scraped(state, job, activator_port) as prometheus_url:
        rendered = await asyncio.to_thread(render_cortex, namespace, keda_settings(prometheus_url, job))
        env = activator_env(
            kubeconfig, namespace, chart_env(rendered), CORTEX_LAYERS_UNIFI_API_URL=f"http://127.0.0.1:{layer_port}"
        )
        scaled_object = scaled_object_for(rendered, UNIFI_API_DEPLOYMENT)
        activator = program(
            activator_command(activator_port), env, f"{activator_url}/health", workdir / "activator.log"
        )
        bridge = LayerBridge(
            api,
            namespace,
            UNIFI_API_DEPLOYMENT,
            unifi_api_layer_command(layer_port),
            base_env(**layer_env),
            f"http://127.0.0.1:{layer_port}/health",
            workdir / "unifi-api.log",
        )
        async with activator, bridge, httpx.AsyncClient(timeout=10) as http:
            # KEDA reads the gauge through Prometheus: the series must be there before the ScaledObject counts.
            query = scaled_object["spec"]["triggers"][0]["metadata"]["query"]

            async def series() -> bool:
                return await prometheus_value(state, query) is not None

            await wait_for(series, 60, "Prometheus to scrape the activator")
            create(api, f"/apis/keda.sh/v1alpha1/namespaces/{namespace}/scaledobjects", scaled_object)
            yield Flow(api, namespace, activator_url, bridge, http, rendered, scaled_object)


@contextlib.asynccontextmanager
async def direct_flow(api: ClusterAPI, kubeconfig: Path, namespace: str, workdir: Path) -> AsyncIterator[Flow]:
    """KEDA off: the classifier layer at zero; the activator scales it through k3s_mcp and waits for llama.cpp."""
    from devcluster import models

    model = await asyncio.to_thread(models.fetch, models.CLASSIFIER)
    model_port, activator_port = free_port(), free_port()
    rendered = await asyncio.to_thread(render_cortex, namespace, ["keda.enabled=false"])
    env = activator_env(
        kubeconfig,
        namespace,
        chart_env(rendered),
        CORTEX_CLASSIFIER_URL=f"http://127.0.0.1:{model_port}",
        # A freshly started model's first answer on a busy machine can take longer than the default 20 s; the
        # wake is measured to the model's answer, not to the activator giving up on it.
        CORTEX_CLASSIFIER_TIMEOUT_SECONDS="120",
    )
    deployment = env.get("CORTEX_CLASSIFIER_DEPLOYMENT")
    if deployment is None:
        raise RuntimeError("with keda.enabled=false the chart gives the activator no CORTEX_CLASSIFIER_DEPLOYMENT")
    create(api, f"/apis/apps/v1/namespaces/{namespace}/deployments", layer_deployment(deployment))
    activator_url = f"http://127.0.0.1:{activator_port}"
    bridge = LayerBridge(
        api,
        namespace,
        deployment,
        classifier_command(model, model_port),
        base_env(),
        f"http://127.0.0.1:{model_port}/health",
        workdir / "classifier.log",
        within=START_MODEL_SECONDS,
    )
    activator = program(activator_command(activator_port), env, f"{activator_url}/health", workdir / "activator.log")
    async with activator, bridge, httpx.AsyncClient(timeout=10) as http:
        yield Flow(api, namespace, activator_url, bridge, http, rendered)


@dataclass
class PrivateAutoscaling:
    state: Path
    kubeconfig: Path
    api: ClusterAPI


@contextlib.contextmanager
def private_autoscaling(directory: Path, port: int) -> Iterator[PrivateAutoscaling]:
    """A cluster of its own in `directory` on `port` with the autoscaling profile; stopped and removed after."""
    from devcluster import cluster

    saved = {name: os.environ.get(name) for name in ("K3S_MCP_CLUSTER_DIR", "K3S_MCP_CLUSTER_PORT")}
    os.environ["K3S_MCP_CLUSTER_DIR"], os.environ["K3S_MCP_CLUSTER_PORT"] = str(directory), str(port)
    try:
        result = cluster.up(profile="autoscaling")
        yield PrivateAutoscaling(directory, result.kubeconfig, ClusterAPI.from_kubeconfig(result.kubeconfig))
    finally:
        try:
            cluster.down()
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


async def asleep_for_the_activator(bridge: LayerBridge, remembered: float) -> None:
    """Wait until the activator no longer remembers the stopped layer as healthy (it skips the health check for
    `remembered` seconds after one succeeded), so the next request finds it asleep and waits for the wake.

    With the chart's cooldown of 300 s this never matters; with the 5 s used here it would.
    """
    if bridge.stopped_at:
        await asyncio.sleep(max(0.0, bridge.stopped_at[-1] + remembered + 0.5 - time.monotonic()))


def scale(api: ClusterAPI, namespace: str, name: str, replicas: int) -> None:
    status, answer = api.request(
        "PATCH",
        f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale",
        {"spec": {"replicas": replicas}},
        content_type="application/merge-patch+json",
    )
    if status != 200:
        raise RuntimeError(f"scaling {namespace}/{name}: {status} {answer}")


async def measure(rounds: int, workdir: Path) -> dict[str, Any]:
    """`rounds` wakes through KEDA and `rounds` through the direct path, in a private cluster; their summary."""
    from tests.cortex.layers.local_server import serve_app
    from tests.cortex.layers.unifi_controller_emulator import UnifiControllerEmulator

    results: dict[str, Any] = {"benchmark": "cortex-wake"}
    with private_autoscaling(workdir / "cluster", free_port()) as cluster:
        api, kubeconfig = cluster.api, cluster.kubeconfig
        controller = UnifiControllerEmulator()
        async with serve_app(controller.app) as controller_url:
            layer_env = {
                "CORTEX_UNIFI_CONTROLLER_URL": controller_url,
                "CORTEX_UNIFI_USERNAME": controller.username,
                "CORTEX_UNIFI_PASSWORD": controller.password,
                "CORTEX_UNIFI_SITE": controller.site,
            }
            await asyncio.to_thread(create_namespace, api, "wake-keda")
            (workdir / "keda").mkdir()
            samples: list[WakeSample] = []
            async with keda_flow(cluster.state, api, kubeconfig, "wake-keda", workdir / "keda", layer_env) as flow:
                assert flow.scaled_object is not None
                results["keda_trigger"] = flow.scaled_object["spec"]
                for _ in range(rounds):
                    await wait_for(lambda: flow.replicas() == (0, 0), 180, "the layer back at zero", flow.bridge)
                    await wait_for(lambda: not flow.bridge.running, 30, "the layer process stopped", flow.bridge)
                    await asleep_for_the_activator(flow.bridge, AWAKE_SECONDS)
                    samples.append(await timed_query(flow.http, flow.activator_url, BLOCK_QUERY, flow.bridge))
            results["keda"] = summary(samples)
        await asyncio.to_thread(create_namespace, api, "wake-direct")
        (workdir / "direct").mkdir()
        direct: list[WakeSample] = []
        async with direct_flow(api, kubeconfig, "wake-direct", workdir / "direct") as flow:
            for _ in range(rounds):
                await asyncio.to_thread(scale, api, "wake-direct", flow.bridge.deployment, 0)
                await wait_for(lambda: flow.replicas() == (0, 0), 120, "the classifier at zero", flow.bridge)
                await wait_for(lambda: not flow.bridge.running, 30, "the model server stopped", flow.bridge)
                await asleep_for_the_activator(flow.bridge, ChatEndpoint.HEALTH_TTL_SECONDS)
                direct.append(await timed_query(flow.http, flow.activator_url, CLASSIFIER_QUERY, flow.bridge))
        results["direct"] = summary(direct)
    return results


async def run(output: Path, rounds: int = 3) -> dict[str, Any]:
    """Measure both wake paths and write the JSON summary to `output` (what bench.run would call)."""
    with tempfile.TemporaryDirectory(prefix="cortex-wake-") as scratch:
        results = await measure(rounds, Path(scratch))
    await asyncio.to_thread(output.write_text, json.dumps(results, indent=2) + "\n")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.wake", description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="where the JSON summary goes")
    parser.add_argument("--rounds", type=int, default=3, help="wakes per path (default 3)")
    args = parser.parse_args(argv)
    results = asyncio.run(run(args.output, args.rounds))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
