"""Runs the activator's network decisions on the UniFi execution layers, counting pending requests per layer."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

import httpx

from cortex.activator.api import QueryRequest, QueryResponse
from cortex.activator.decision import RouteDecision
from cortex.activator.metrics import ActivatorMetrics
from cortex.layers.client import (
    HttpTelemetryClient,
    LayerCall,
    LayerClient,
    LayerDispatcher,
    TelemetrySink,
    failure,
    layer_urls,
)
from cortex.layers.contract import LayerRequest, LayerResponse
from cortex.layers.names import TELEMETRY_LAYER
from cortex.layers.settings import LayerClientSettings
from cortex.layers.telemetry import OutcomeEvent

# A layer that answered /health this recently is not probed again before the next request.
AWAKE_SECONDS = 10.0
POLL_SECONDS = 0.5
# Outcome events kept for a telemetry layer that is asleep; older ones are dropped first.
BACKLOG_EVENTS = 1000


class CountedLayerClient:
    """A layer client whose requests show in `cortex_activator_pending_requests{layer=<name>}`.

    With a health URL it also holds a request while the layer is scaled to zero: the raised gauge is what
    makes KEDA wake the layer, and a request that reached no layer is never sent twice. Wrapping each
    client (rather than the whole dispatch) makes a failover count against the partner layer too.
    """

    def __init__(
        self,
        client: LayerClient,
        metrics: ActivatorMetrics,
        *,
        health_url: str | None = None,
        wake_timeout_seconds: float = 0.0,
    ) -> None:
        self.inner = client
        self.name = client.name
        self.metrics = metrics
        self.health_url = health_url
        self.wake_timeout_seconds = wake_timeout_seconds
        self._awake_until = 0.0
        self._http = httpx.AsyncClient(timeout=2.0) if health_url else None

    async def execute(self, request: LayerRequest) -> LayerResponse:
        with self.metrics.holding(self.name):
            asleep = await self._wait_until_awake(request)
            if asleep is not None:
                return asleep
            return await self.inner.execute(request)

    async def _healthy(self) -> bool:
        assert self._http is not None and self.health_url is not None
        try:
            return (await self._http.get(self.health_url)).status_code == 200
        except httpx.HTTPError:
            return False

    async def _wait_until_awake(self, request: LayerRequest) -> LayerResponse | None:
        """None once the layer answers /health; a 503 response when it did not wake in time."""
        if self._http is None or self.wake_timeout_seconds <= 0 or time.monotonic() < self._awake_until:
            return None
        started = time.monotonic()
        while True:
            if await self._healthy():
                self._awake_until = time.monotonic() + AWAKE_SECONDS
                return None
            if time.monotonic() - started >= self.wake_timeout_seconds:
                return failure(
                    self.name,
                    request.action,
                    "layer_asleep",
                    f"layer {self.name} is scaled to zero or down and did not answer /health within "
                    f"{self.wake_timeout_seconds:g} s; retry shortly",
                    503,
                )
            await asyncio.sleep(POLL_SECONDS)

    async def aclose(self) -> None:
        await self.inner.aclose()
        if self._http is not None:
            await self._http.aclose()


class CountedTelemetry:
    """A telemetry sink that keeps events a sleeping telemetry layer could not take, and counts them.

    The backlog stays in `cortex_activator_pending_requests{layer="cortex-telemetry"}` until delivered,
    so KEDA wakes the telemetry layer; a background task retries meanwhile.
    """

    def __init__(self, sink: TelemetrySink, metrics: ActivatorMetrics, retry_seconds: float = 2.0) -> None:
        self.inner = sink
        self.metrics = metrics
        self.retry_seconds = retry_seconds
        self.backlog: deque[OutcomeEvent] = deque(maxlen=BACKLOG_EVENTS)
        self._retry: asyncio.Task[None] | None = None
        self._gauge = metrics.pending.labels(layer=TELEMETRY_LAYER)

    async def send(self, event: OutcomeEvent) -> bool:
        with self.metrics.holding(TELEMETRY_LAYER):
            if self.backlog:
                self._keep(event)
                return False
            if await self.inner.send(event):
                return True
        self._keep(event)
        return False

    def _keep(self, event: OutcomeEvent) -> None:
        if len(self.backlog) == self.backlog.maxlen:
            self._gauge.dec()
        self.backlog.append(event)
        self._gauge.inc()
        if self._retry is None or self._retry.done():
            self._retry = asyncio.create_task(self._deliver_backlog())

    async def _deliver_backlog(self) -> None:
        while self.backlog:
            await asyncio.sleep(self.retry_seconds)
            while self.backlog and await self.inner.send(self.backlog[0]):
                self.backlog.popleft()
                self._gauge.dec()

    async def aclose(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retry
        if isinstance(self.inner, HttpTelemetryClient):
            await self.inner.aclose()


class CountedDispatcher(LayerDispatcher):
    """A LayerDispatcher over counted clients; closes the telemetry client it wraps as well."""

    @classmethod
    def wrap(
        cls,
        dispatcher: LayerDispatcher,
        metrics: ActivatorMetrics,
        *,
        urls: Mapping[str, str | None] | None = None,
        wake_timeout_seconds: float = 0.0,
    ) -> CountedDispatcher:
        """`urls` (layer name -> base URL) turns on holding requests while that layer wakes from zero."""
        known = urls or {}
        clients = {
            name: CountedLayerClient(
                client,
                metrics,
                health_url=f"{url.rstrip('/')}/health" if (url := known.get(name)) else None,
                wake_timeout_seconds=wake_timeout_seconds,
            )
            for name, client in dispatcher.clients.items()
        }
        telemetry = CountedTelemetry(dispatcher.telemetry, metrics) if dispatcher.telemetry is not None else None
        return cls(clients, failover=dispatcher.failover, telemetry=telemetry)

    @classmethod
    def configured(
        cls, settings: LayerClientSettings, metrics: ActivatorMetrics, wake_timeout_seconds: float
    ) -> CountedDispatcher:
        """Counted HTTP clients for every layer whose CORTEX_LAYERS_*_URL is set."""
        return cls.wrap(
            LayerDispatcher.from_settings(settings),
            metrics,
            urls=layer_urls(settings),
            wake_timeout_seconds=wake_timeout_seconds,
        )

    async def aclose(self) -> None:
        await super().aclose()
        if isinstance(self.telemetry, CountedTelemetry):
            await self.telemetry.aclose()


async def run_network_decision(
    dispatcher: CountedDispatcher | None,
    metrics: ActivatorMetrics,
    decision: RouteDecision,
    request: QueryRequest,
    decision_id: str,
) -> QueryResponse:
    """Run a network decision on its execution layer; the layer itself asks for confirmation (428)."""
    assert decision.layer is not None and decision.tool is not None
    layer, action = decision.layer, decision.tool
    result: Any = None
    executed = False
    if request.dry_run:
        status, message = "dry_run", f"dry run: {layer} cannot dry-run {action}, so nothing was run"
    elif not request.execute:
        status, message = "routed", "not executed (execute=false)"
    elif dispatcher is None:
        status, message = "routed", "execution is not available; the decision is shown only"
    elif layer not in dispatcher.clients:
        variable = f"CORTEX_LAYERS_{layer.upper().replace('-', '_')}_URL"
        status, message = "routed", f"the {layer} layer is not configured (set {variable}); nothing was run"
    else:
        outcome = await dispatcher.dispatch(
            LayerCall(layer, action, dict(decision.arguments)),
            confirm=request.confirm,
            actor="cortex-activator",
            text=request.query,
            route=decision.route,
            tier=decision.tier.value,
            confidence=decision.confidence,
        )
        response = outcome.response
        error = response.error
        result = {**response.model_dump(mode="json"), "failover_from": outcome.failover_from}
        if error is not None and error.code == "confirmation_required":
            decision.requires_confirmation = True
            status = "needs_confirmation"
            message = f"{action} on {layer} needs consent: send the request again with confirm=true"
        elif response.ok:
            executed = True
            status, message = "executed", "done"
            if outcome.failover_from is not None:
                first = outcome.first_error.message if outcome.first_error else "failed"
                message = f"done by {response.layer} after {outcome.failover_from} failed: {first}"
        else:
            executed = True
            status = "failed"
            message = error.message if error is not None else f"{layer} answered HTTP {response.status}"
        metrics.queries.labels(tier=decision.tier.value, outcome=status).inc()
    return QueryResponse(
        decision_id=decision_id,
        tier=decision.tier.value,
        tool=action,
        layer=layer,
        arguments=decision.arguments,
        confidence=decision.confidence,
        complexity=decision.complexity,
        mode=decision.mode,
        requires_confirmation=decision.requires_confirmation,
        executed=executed,
        status=status,
        message=message,
        result=result,
        latency_ms=decision.latency_ms,
    )
