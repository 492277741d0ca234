"""Rows of the apps API group: Deployments, StatefulSets and DaemonSets."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from k3s_mcp.views.pages import (
    age,
    created_age,
    metadata_of,
    name_of,
    namespace_of,
    selector_text,
)


class DeploymentRow(BaseModel):
    """One deployment as `kubectl get deployments -o wide` shows it."""

    name: str
    namespace: str
    ready: str
    up_to_date: int
    available: int
    age: str
    images: list[str]
    selector: str


def deployment_row(deployment: dict[str, Any]) -> DeploymentRow:
    metadata = metadata_of(deployment)
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    return DeploymentRow(
        name=metadata.get("name", ""),
        namespace=metadata.get("namespace", ""),
        ready=f"{status.get('readyReplicas') or 0}/{spec.get('replicas', 1)}",
        up_to_date=int(status.get("updatedReplicas") or 0),
        available=int(status.get("availableReplicas") or 0),
        age=age(metadata.get("creationTimestamp")),
        images=[str(c.get("image", "")) for c in containers],
        selector=selector_text((spec.get("selector") or {}).get("matchLabels")),
    )


def _images(workload: dict[str, Any]) -> list[str]:
    containers = (((workload.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    return [str(c.get("image", "")) for c in containers]


class StatefulSetRow(BaseModel):
    """A StatefulSet as `kubectl get sts -o wide` shows it."""

    name: str
    namespace: str
    ready: str
    updated: int
    service: str | None
    update_strategy: str
    images: list[str]
    age: str


def statefulset_row(statefulset: dict[str, Any]) -> StatefulSetRow:
    spec = statefulset.get("spec") or {}
    status = statefulset.get("status") or {}
    return StatefulSetRow(
        name=name_of(statefulset),
        namespace=namespace_of(statefulset),
        ready=f"{status.get('readyReplicas') or 0}/{spec.get('replicas', 1)}",
        updated=int(status.get("updatedReplicas") or 0),
        service=spec.get("serviceName") or None,
        update_strategy=str((spec.get("updateStrategy") or {}).get("type", "RollingUpdate")),
        images=_images(statefulset),
        age=created_age(statefulset),
    )


class DaemonSetRow(BaseModel):
    """A DaemonSet as `kubectl get ds -o wide` shows it."""

    name: str
    namespace: str
    desired: int
    current: int
    ready: int
    up_to_date: int
    available: int
    node_selector: str
    images: list[str]
    age: str


def daemonset_row(daemonset: dict[str, Any]) -> DaemonSetRow:
    status = daemonset.get("status") or {}
    pod_spec = ((daemonset.get("spec") or {}).get("template") or {}).get("spec") or {}
    return DaemonSetRow(
        name=name_of(daemonset),
        namespace=namespace_of(daemonset),
        desired=int(status.get("desiredNumberScheduled") or 0),
        current=int(status.get("currentNumberScheduled") or 0),
        ready=int(status.get("numberReady") or 0),
        up_to_date=int(status.get("updatedNumberScheduled") or 0),
        available=int(status.get("numberAvailable") or 0),
        node_selector=selector_text(pod_spec.get("nodeSelector")) or "<none>",
        images=_images(daemonset),
        age=created_age(daemonset),
    )
