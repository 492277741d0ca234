"""The server's Prometheus metrics, one registry per app (so several apps in one process never share a series).

``k3s_mcp.middleware.audit`` counts every tool call, its outcome and duration and the calls in flight; the Kubernetes
layer reports each failed API request through :func:`k3s_mcp.kube.observe_api_failures`; the audit log counts the
lines it had to drop. ``k3s_mcp.server`` serves :meth:`ServerMetrics.exposition` as ``GET /metrics``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

# The text format every Prometheus reads (the names here are all classic ones, so nothing needs 1.0.0's escaping).
EXPOSITION_CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
# Tool calls range from a cached read (about a millisecond) to a helm upgrade that waits (minutes).
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class ServerMetrics:
    """The counters, histogram and gauge of one k3s-mcp app, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.tool_calls = Counter(
            "k3s_mcp_tool_calls",
            "Tool calls by tool, outcome (ok, error, refused, needs_confirmation, cancelled) and, for errors, their "
            "class (not_found, forbidden, invalid, conflict, unreachable, other; empty otherwise).",
            ["tool", "outcome", "error"],
            registry=self.registry,
        )
        self.tool_call_duration = Histogram(
            "k3s_mcp_tool_call_duration_seconds",
            "Time from a tool call reaching the server's middleware to its answer or error, by tool.",
            ["tool"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.tool_calls_in_flight = Gauge(
            "k3s_mcp_tool_calls_in_flight", "Tool calls being handled now.", registry=self.registry
        )
        self.api_errors = Counter(
            "k3s_mcp_api_errors",
            "Failed requests to the Kubernetes API server, by HTTP status or `unreachable`.",
            ["status"],
            registry=self.registry,
        )
        self.audit_dropped = Counter(
            "k3s_mcp_audit_dropped",
            "Audit lines dropped because the audit log's writer was too far behind (its queue was full).",
            registry=self.registry,
        )

    def count_api_failure(self, status: str) -> None:
        """The observer handed to the Kubernetes layer: one failed API request with this status label."""
        self.api_errors.labels(status=status).inc()

    def count_audit_drop(self) -> None:
        self.audit_dropped.inc()

    def exposition(self) -> bytes:
        """Every metric in the Prometheus text format."""
        return generate_latest(self.registry)
