"""Prometheus metrics of one activator: queries, tier latency, escalations, cold starts, pending requests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from cortex.activator.decision import Tier
from cortex.layers.names import GAUGED_LAYERS


class ActivatorMetrics:
    """Each activator owns its registry, so several can live in one process (tests, benchmarks)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.queries = Counter(
            "cortex_activator_queries",
            "Routed queries by answering tier and outcome.",
            ["tier", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "cortex_activator_tier_latency_seconds",
            "Time spent in each tier per query.",
            ["tier"],
            buckets=(0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.escalations = Counter(
            "cortex_activator_escalations",
            "Requests passed on by a tier, by tier and reason.",
            ["tier", "reason"],
            registry=self.registry,
        )
        self.cold_starts = Counter(
            "cortex_activator_cold_starts",
            "Layers the activator found scaled to zero and woke.",
            ["layer"],
            registry=self.registry,
        )
        self.pending = Gauge(
            "cortex_activator_pending_requests",
            "Requests waiting on or being served by each layer (KEDA scales the layers on this).",
            ["layer"],
            registry=self.registry,
        )
        # Every series exists from start-up, so an autoscaler never reads an empty result.
        for layer in GAUGED_LAYERS:
            self.pending.labels(layer=layer).set(0)
            self.cold_starts.labels(layer=layer)
        for tier in Tier:
            self.latency.labels(tier=tier.value)

    @contextmanager
    def holding(self, layer: str) -> Iterator[None]:
        gauge = self.pending.labels(layer=layer)
        gauge.inc()
        try:
            yield
        finally:
            gauge.dec()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
