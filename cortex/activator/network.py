"""Runs the activator's network decisions on the UniFi execution layers, counting pending requests per layer."""

from __future__ import annotations

from cortex.activator.metrics import TELEMETRY_LAYER, ActivatorMetrics
from cortex.layers.client import HttpTelemetryClient, LayerClient, LayerDispatcher, TelemetrySink
from cortex.layers.contract import LayerRequest, LayerResponse
from cortex.layers.settings import LayerClientSettings
from cortex.layers.telemetry import OutcomeEvent


class CountedLayerClient:
    """A layer client whose requests in flight show in `cortex_activator_pending_requests{layer=<name>}`.

    Wrapping each client (rather than the whole dispatch) makes a failover count against the partner layer
    too, so KEDA wakes the SSH layer while the activator waits on it.
    """

    def __init__(self, client: LayerClient, metrics: ActivatorMetrics) -> None:
        self.inner = client
        self.name = client.name
        self.metrics = metrics

    async def execute(self, request: LayerRequest) -> LayerResponse:
        with self.metrics.holding(self.name):
            return await self.inner.execute(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class CountedTelemetry:
    """A telemetry sink whose sends in flight count against the cortex-telemetry layer."""

    def __init__(self, sink: TelemetrySink, metrics: ActivatorMetrics) -> None:
        self.inner = sink
        self.metrics = metrics

    async def send(self, event: OutcomeEvent) -> bool:
        with self.metrics.holding(TELEMETRY_LAYER):
            return await self.inner.send(event)

    async def aclose(self) -> None:
        if isinstance(self.inner, HttpTelemetryClient):
            await self.inner.aclose()


class CountedDispatcher(LayerDispatcher):
    """A LayerDispatcher over counted clients; closes the telemetry client it wraps as well."""

    @classmethod
    def wrap(cls, dispatcher: LayerDispatcher, metrics: ActivatorMetrics) -> CountedDispatcher:
        clients = {name: CountedLayerClient(client, metrics) for name, client in dispatcher.clients.items()}
        telemetry = CountedTelemetry(dispatcher.telemetry, metrics) if dispatcher.telemetry is not None else None
        return cls(clients, failover=dispatcher.failover, telemetry=telemetry)

    @classmethod
    def configured(cls, settings: LayerClientSettings, metrics: ActivatorMetrics) -> CountedDispatcher:
        """Counted HTTP clients for every layer whose CORTEX_LAYERS_*_URL is set."""
        return cls.wrap(LayerDispatcher.from_settings(settings), metrics)

    async def aclose(self) -> None:
        await super().aclose()
        if isinstance(self.telemetry, CountedTelemetry):
            await self.telemetry.aclose()
