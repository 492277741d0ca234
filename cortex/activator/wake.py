"""Scale-from-zero: hold a request while a model layer wakes; its Deployment is scaled through k3s_mcp."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from cortex.activator.metrics import ActivatorMetrics
from cortex.activator.tiers.model_endpoint import ChatEndpoint, ModelUnavailable

# Scales a Deployment (name, namespace, replicas); returns an error text or None. The activator passes the
# k3s_mcp scale_deployment tool here, so it never talks to Kubernetes itself.
Scaler = Callable[[str, str, int], Awaitable[str | None]]


class LayerWaking(RuntimeError):
    """The layer was asked to wake but is not ready yet; the caller should retry after `retry_after` s."""

    def __init__(self, layer: str, waited: float, retry_after: int) -> None:
        super().__init__(
            f"the {layer} layer was scaled to zero and is still starting after {waited:.0f}s; retry in {retry_after}s"
        )
        self.layer = layer
        self.retry_after = retry_after


@dataclass
class Layer:
    """A model layer: its endpoint and, optionally, the Deployment that serves it."""

    name: str
    endpoint: ChatEndpoint
    deployment: str | None
    namespace: str


class LayerWaker:
    """Makes sure a layer answers before a tier calls it (bounded wait, then LayerWaking)."""

    POLL_SECONDS = 0.5

    def __init__(
        self, metrics: ActivatorMetrics, scaler: Scaler | None, timeout_seconds: float, retry_after: int
    ) -> None:
        self.metrics = metrics
        self.scaler = scaler
        self.timeout_seconds = timeout_seconds
        self.retry_after = retry_after

    async def ensure_awake(self, layer: Layer) -> None:
        """Return when the layer is healthy; raise ModelUnavailable (fall through) or LayerWaking (503)."""
        if await layer.endpoint.healthy():
            return
        if layer.deployment is None or self.scaler is None:
            raise ModelUnavailable(f"the {layer.name} model server at {layer.endpoint.base_url} is down")
        self.metrics.cold_starts.labels(layer=layer.name).inc()
        error = await self.scaler(layer.deployment, layer.namespace, 1)
        if error:
            raise ModelUnavailable(f"could not wake {layer.name} (deployment {layer.deployment}): {error}")
        started = time.monotonic()
        while time.monotonic() - started < self.timeout_seconds:
            await asyncio.sleep(self.POLL_SECONDS)
            if await layer.endpoint.healthy():
                return
        raise LayerWaking(layer.name, time.monotonic() - started, self.retry_after)
