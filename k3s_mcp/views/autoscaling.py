"""Rows of the autoscaling API group: HorizontalPodAutoscalers and their metrics."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from k3s_mcp.views.pages import (
    created_age,
    name_of,
    namespace_of,
)


class HorizontalPodAutoscalerRow(BaseModel):
    """An autoscaling/v2 HPA: what it scales, its targets against current values, and the bounds."""

    name: str
    namespace: str
    reference: str = Field(description="Kind/name of the scaled workload.")
    targets: list[str] = Field(description="'cpu: 40%/80%' style current/target per metric; <unknown> when unmeasured.")
    min_replicas: int
    max_replicas: int
    replicas: int
    age: str


def _metric_target(metric: dict[str, Any]) -> tuple[str, str]:
    """(label, target text) of one metric spec."""
    kind = str(metric.get("type", ""))
    body = metric.get(kind[:1].lower() + kind[1:]) or {}
    label = str(body.get("name") or (body.get("metric") or {}).get("name") or kind)
    target = body.get("target") or {}
    if target.get("averageUtilization") is not None:
        return label, f"{target['averageUtilization']}%"
    return label, str(target.get("averageValue") or target.get("value") or "?")


def _metric_current(status: dict[str, Any] | None) -> str:
    if not status:
        return "<unknown>"
    kind = str(status.get("type", ""))
    current = (status.get(kind[:1].lower() + kind[1:]) or {}).get("current") or {}
    if current.get("averageUtilization") is not None:
        return f"{current['averageUtilization']}%"
    return str(current.get("averageValue") or current.get("value") or "<unknown>")


def horizontal_pod_autoscaler_row(hpa: dict[str, Any]) -> HorizontalPodAutoscalerRow:
    spec = hpa.get("spec") or {}
    status = hpa.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    current = status.get("currentMetrics") or []
    targets = []
    for index, metric in enumerate(spec.get("metrics") or []):
        label, target = _metric_target(metric)
        targets.append(f"{label}: {_metric_current(current[index] if index < len(current) else None)}/{target}")
    return HorizontalPodAutoscalerRow(
        name=name_of(hpa),
        namespace=namespace_of(hpa),
        reference=f"{ref.get('kind')}/{ref.get('name')}",
        targets=targets,
        min_replicas=int(spec.get("minReplicas") or 1),
        max_replicas=int(spec.get("maxReplicas") or 0),
        replicas=int(status.get("currentReplicas") or 0),
        age=created_age(hpa),
    )
