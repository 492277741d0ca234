"""Rows of KEDA (keda.sh): ScaledObjects and ScaledJobs with their target, triggers, state and pause."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from k3s_mcp.views.pages import age

PAUSED = "autoscaling.keda.sh/paused"


PAUSED_REPLICAS = "autoscaling.keda.sh/paused-replicas"


class ScalerRow(BaseModel):
    """One ScaledObject or ScaledJob, with the columns `kubectl get scaledobject` shows."""

    kind: str
    name: str
    namespace: str
    target: str = Field(description="Kind/name scaled (ScaledObject) or the Job's first image (ScaledJob).")
    min: int | None
    max: int | None
    triggers: list[str] = Field(description="Trigger types.")
    ready: str = Field(description="Status of the Ready condition: True, False or Unknown (no operator yet).")
    active: str = Field(description="Status of the Active condition.")
    paused: str | None = Field(description="'true', or the paused-replicas count, when paused.")
    age: str


def condition_status(obj: dict[str, Any], kind: str) -> str:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return str(condition.get("status") or "Unknown")
    return "Unknown"


def paused_state(meta: dict[str, Any]) -> str | None:
    annotations = meta.get("annotations") or {}
    if PAUSED_REPLICAS in annotations:
        return f"replicas={annotations[PAUSED_REPLICAS]}"
    value = annotations.get(PAUSED)
    return str(value) if value is not None and str(value).lower() != "false" else None


def scaler_row(obj: dict[str, Any]) -> ScalerRow:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    kind = str(obj.get("kind") or "")
    if kind == "ScaledJob":
        containers = (((spec.get("jobTargetRef") or {}).get("template") or {}).get("spec") or {}).get("containers") or [
            {}
        ]
        target = f"Job image {containers[0].get('image', '?')}"
        low, high = spec.get("minReplicaCount"), spec.get("maxReplicaCount")
    else:
        ref = spec.get("scaleTargetRef") or {}
        target = f"{ref.get('kind') or 'Deployment'}/{ref.get('name', '?')}"
        low, high = spec.get("minReplicaCount"), spec.get("maxReplicaCount")
    return ScalerRow(
        kind=kind,
        name=str(meta.get("name", "")),
        namespace=str(meta.get("namespace", "")),
        target=target,
        min=low,
        max=high,
        triggers=[str(t.get("type", "?")) for t in spec.get("triggers") or []],
        ready=condition_status(obj, "Ready"),
        active=condition_status(obj, "Active"),
        paused=paused_state(meta),
        age=age(meta.get("creationTimestamp")),
    )
