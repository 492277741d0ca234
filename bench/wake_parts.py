"""The pieces of the wake benchmark (bench/wake.py) and of the activation-flow tests: a layer's Deployment, the
cortex chart rendered by ``helm template``, host processes (the activator, a layer, llama.cpp's server), and the
:class:`LayerBridge` that plays the kubelet for a KWOK pod, plus the timing of one wake."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from devcluster import prometheus
from devcluster.api import ClusterAPI
from devcluster.api import deployment as deployment_object
from devcluster.processes import stop_async_process

PROJECT = Path(__file__).resolve().parents[1]
RELEASE = "r"
MAC = "aa:bb:cc:dd:ee:ff"
# How often KEDA polls Prometheus and how long a layer stays up after its last request in these runs (the chart's
# defaults are 5 s and 300 s); the cluster's Prometheus scrapes every devcluster.prometheus.SCRAPE_INTERVAL.
POLLING_SECONDS = 1
COOLDOWN_SECONDS = 5


# --- the cluster ---------------------------------------------------------------------------------------------


def create_namespace(api: ClusterAPI, name: str) -> None:
    status, answer = api.request("POST", "/api/v1/namespaces", {"metadata": {"name": name}})
    if status != 201:
        raise RuntimeError(f"creating namespace {name}: {status} {answer}")
    deadline = time.monotonic() + 30
    while api.request("GET", f"/api/v1/namespaces/{name}/serviceaccounts/default")[0] != 200:
        if time.monotonic() > deadline:
            raise RuntimeError(f"namespace {name} got no default ServiceAccount in 30 s")
        time.sleep(0.1)


def layer_deployment(name: str, replicas: int = 0) -> dict[str, Any]:
    """A layer's Deployment as the ScaledObject names it; KWOK runs its pod, the bridge its process."""
    labels = {"app.kubernetes.io/name": "cortex", "app.kubernetes.io/component": name}
    return deployment_object(name, replicas, f"registry.invalid/{name}:1", labels, container="layer")


def deployment_status(api: ClusterAPI, namespace: str, name: str) -> tuple[int, int]:
    """(spec.replicas, status.readyReplicas) of a Deployment."""
    status, answer = api.request("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
    if status != 200:
        raise RuntimeError(f"reading deployment {namespace}/{name}: {status} {answer}")
    return int(answer["spec"].get("replicas") or 0), int((answer.get("status") or {}).get("readyReplicas") or 0)


# --- the chart -----------------------------------------------------------------------------------------------


def render_cortex(namespace: str, settings: Sequence[str], show_only: str | None = None) -> list[dict[str, Any]]:
    """Objects `helm template` renders from the cortex chart in `namespace` (the chart tests' pinned helm and
    staging: a scratch copy with the dependency built, the tree left alone)."""
    from tests.charts.helm_cli import Helm, stage_charts

    helm = Helm.pinned()
    with tempfile.TemporaryDirectory() as scratch:
        chart = stage_charts(Path(scratch), helm)["cortex"]
        arguments = ["template", RELEASE, str(chart), "--namespace", namespace]
        if show_only:
            arguments += ["--show-only", show_only]
        for setting in settings:
            arguments += ["--set", setting]
        return [doc for doc in yaml.safe_load_all(helm.check(*arguments)) if doc]


def keda_settings(prometheus_url: str, job: str) -> list[str]:
    """Chart values: KEDA on, polling and cooldown short, the local Prometheus, and a matcher on the scrape `job`
    (the chart's keda.prometheus.extraMatchers), so another activator that Prometheus scrapes does not count."""
    return [
        "keda.enabled=true",
        f"keda.pollingInterval={POLLING_SECONDS}",
        f"keda.cooldownPeriod={COOLDOWN_SECONDS}",
        f"keda.prometheus.serverAddress={prometheus_url}",
        f'keda.prometheus.extraMatchers=job="{job}"',
    ]


def scaled_object_for(objects: Sequence[dict[str, Any]], deployment: str) -> dict[str, Any]:
    for obj in objects:
        if obj.get("kind") == "ScaledObject" and obj["spec"]["scaleTargetRef"]["name"] == deployment:
            return obj
    raise RuntimeError(f"the chart rendered no ScaledObject for {deployment}")


# --- processes -----------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def program(
    command: Sequence[str], env: Mapping[str, str], ready_url: str, log: Path, *, within: float = 90.0
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Run `command` (logging to `log`) until the context ends; yield once `ready_url` answers 200."""
    with log.open("ab") as output:
        process = await asyncio.create_subprocess_exec(
            *command, env=dict(env), cwd=PROJECT, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=2) as http:
            while True:
                if process.returncode is not None:
                    tail = (await asyncio.to_thread(log.read_text, errors="replace"))[-2000:]
                    raise RuntimeError(f"{command[0]} exited with {process.returncode}: {tail}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(ready_url)).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{ready_url} did not answer 200 within {within:.0f} s (log {log})")
                await asyncio.sleep(0.1)
        yield process
    finally:
        await stop_async_process(process)


def base_env(**extra: str) -> dict[str, str]:
    """PATH and HOME only, so no CORTEX_* or K3S_* setting of the caller leaks into a process."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(Path.home()), **extra}


@contextlib.contextmanager
def scraped(state: Path, job: str, port: int) -> Iterator[str]:
    """The cluster's Prometheus scrapes 127.0.0.1:`port` as `job` (beside the other jobs) until the context ends;
    yields Prometheus' URL."""
    prometheus.set_job(state, job, [f"127.0.0.1:{port}"])
    try:
        yield prometheus.url(state)
    finally:
        prometheus.set_job(state, job, [])


async def prometheus_value(state: Path, promql: str) -> float | None:
    """The first value of the instant query `promql`, None while it has no series."""
    result = await asyncio.to_thread(prometheus.query, state, promql)
    return float(result[0]["value"][1]) if result else None


def activator_command(port: int) -> list[str]:
    return [sys.executable, "-m", "cortex.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]


def unifi_api_layer_command(port: int) -> list[str]:
    return [sys.executable, "-m", "cortex.layers.cli", "unifi-api", "--host", "127.0.0.1", "--port", str(port)]


def classifier_command(model: Path, port: int) -> list[str]:
    """llama.cpp's OpenAI-compatible server (the tier-3 layer) for `model` on 127.0.0.1:`port`, as the activator
    tests run it (2 threads, context 2048)."""
    from devcluster.models import SERVER_SCRIPT

    return [sys.executable, "-c", SERVER_SCRIPT, str(model), str(port), "2048"]


# --- the bridge ----------------------------------------------------------------------------------------------


@dataclass
class LayerBridge:
    """Plays the kubelet for one layer: its process runs while the Deployment has a ready (KWOK) replica."""

    api: ClusterAPI
    namespace: str
    deployment: str
    command: Sequence[str]
    env: Mapping[str, str]
    health_url: str
    log: Path
    scaled_up_at: list[float] = field(default_factory=list)
    ready_at: list[float] = field(default_factory=list)
    started_at: list[float] = field(default_factory=list)
    stopped_at: list[float] = field(default_factory=list)
    within: float = 60.0
    replicas: int = 0
    running: bool = False
    _task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        running: contextlib.AsyncExitStack | None = None
        try:
            while True:
                replicas, ready = await asyncio.to_thread(deployment_status, self.api, self.namespace, self.deployment)
                if replicas > 0 and self.replicas == 0:
                    self.scaled_up_at.append(time.monotonic())
                self.replicas = replicas
                if ready > 0 and running is None:
                    self.ready_at.append(time.monotonic())
                    running = contextlib.AsyncExitStack()
                    await running.enter_async_context(
                        program(self.command, self.env, self.health_url, self.log, within=self.within)
                    )
                    self.running = True
                    self.started_at.append(time.monotonic())
                elif ready == 0 and running is not None:
                    await running.aclose()
                    running = None
                    self.running = False
                    self.stopped_at.append(time.monotonic())
                await asyncio.sleep(0.1)
        finally:
            if running is not None:
                await running.aclose()

    async def __aenter__(self) -> LayerBridge:
        self._task = asyncio.create_task(self._watch())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def check(self) -> None:
        """Raise what stopped the watcher, if it stopped."""
        if self._task is not None and self._task.done() and not self._task.cancelled():
            self._task.result()


async def wait_for(check: Any, within: float, what: str, bridge: LayerBridge | None = None) -> Any:
    """Poll `check` (sync or async) until it returns something truthy; the bridge's failure surfaces at once."""
    deadline = time.monotonic() + within
    while True:
        if bridge is not None:
            bridge.check()
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {within:.0f} s waiting for {what}")
        await asyncio.sleep(0.1)


class NoWake(RuntimeError):
    """A request the bench meant to wake a layer with was answered without the layer being woken."""


@dataclass
class WakeSample:
    """One wake, seconds from the request: Deployment at >=1 replica, a ready (KWOK) replica, the layer's process
    answering /health, the answer; and the answer's HTTP status and body."""

    scaled: float
    ready: float
    started: float
    answered: float
    status: int
    body: dict[str, Any]


async def timed_query(
    http: httpx.AsyncClient, url: str, query: str, bridge: LayerBridge, within: float = 120.0
) -> WakeSample:
    """Send `query` to the activator at `url` while the layer sleeps; time the wake the bridge sees.

    Raises :class:`NoWake` when the answer came without the Deployment being scaled up and the layer started.
    """
    before = len(bridge.scaled_up_at), len(bridge.ready_at), len(bridge.started_at)
    sent = time.monotonic()
    request = asyncio.create_task(http.post(f"{url}/query", json={"query": query}, timeout=within))
    try:
        await wait_for(request.done, within, "the answer", bridge)
        response = request.result()
    finally:
        if not request.done():
            request.cancel()
    answered = time.monotonic()
    moments = (bridge.scaled_up_at, bridge.ready_at, bridge.started_at)

    def recorded() -> bool:
        return all(len(seen) > count for seen, count in zip(moments, before, strict=True))

    # The activator may see the layer healthy a poll before the bridge does: give the bridge a moment.
    with contextlib.suppress(TimeoutError):
        await wait_for(recorded, 5, "the bridge to record the wake", bridge)
    if not recorded():
        raise NoWake(f"{query!r} was answered ({response.status_code}: {response.text[:300]}) without a wake")
    scaled, ready, started = (seen[count] - sent for seen, count in zip(moments, before, strict=True))
    return WakeSample(scaled, ready, started, answered - sent, response.status_code, response.json())


def summary(samples: Sequence[WakeSample]) -> dict[str, Any]:
    """Min, median and max of each stage over the samples, and each answer's HTTP status and outcome."""

    def stats(values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        return {
            "min": round(ordered[0], 3),
            "median": round(ordered[len(ordered) // 2], 3),
            "max": round(ordered[-1], 3),
        }

    return {
        "rounds": len(samples),
        "to_replica_s": stats([s.scaled for s in samples]),
        "to_ready_replica_s": stats([s.ready for s in samples]),
        "to_layer_started_s": stats([s.started for s in samples]),
        "to_answer_s": stats([s.answered for s in samples]),
        "answers": [f"{s.status} {s.body.get('status')}" for s in samples],
    }
