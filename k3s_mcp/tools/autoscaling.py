"""HorizontalPodAutoscaler tools (autoscaling/v2): list, show, and create or update one for a workload."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastmcp import FastMCP
from fastmcp.exceptions import ToolError
from pydantic import BaseModel, Field

from k3s_mcp.kube import current_session
from k3s_mcp.tools import READ_ONLY, WRITE, tool
from k3s_mcp.tools.changes import ObjectChange, apply_object
from k3s_mcp.tools.lists import list_rows
from k3s_mcp.tools.parameters import ContinueToken, DryRun, Labels, Limit, ListNamespace, Name, Namespace
from k3s_mcp.views import (
    Condition,
    HorizontalPodAutoscalerRow,
    RowPage,
    conditions,
    horizontal_pod_autoscaler_row,
    trim,
)

autoscaling: FastMCP = FastMCP("autoscaling")

_TARGETS = {"Deployment": "deployments.apps", "StatefulSet": "statefulsets.apps", "ReplicaSet": "replicasets.apps"}


class HpaDetail(BaseModel):
    summary: HorizontalPodAutoscalerRow
    desired_replicas: int | None
    last_scale_time: str | None
    conditions: list[Condition] = Field(
        description="AbleToScale, ScalingActive (False when metrics are missing), ScalingLimited."
    )
    object: dict[str, Any] = Field(description="The HPA without managedFields and last-applied.")


@tool(autoscaling, title="List HorizontalPodAutoscalers", safety=READ_ONLY)
async def get_hpas(
    namespace: ListNamespace = None,
    labels: Labels = None,
    limit: Limit = None,
    continue_token: ContinueToken = None,
) -> RowPage[HorizontalPodAutoscalerRow]:
    """List HorizontalPodAutoscalers: the workload each scales, current/target per metric, min, max, replicas.

    KEDA's ScaledObjects create HPAs named keda-hpa-<name>; they show here too.
    """
    return await list_rows(
        "horizontalpodautoscalers.autoscaling",
        horizontal_pod_autoscaler_row,
        namespace,
        labels=labels,
        limit=limit,
        continue_token=continue_token,
    )


@tool(autoscaling, title="Show a HorizontalPodAutoscaler", safety=READ_ONLY)
async def get_hpa(name: Name, namespace: Namespace = None) -> HpaDetail:
    """Show one HPA: summary, desired replicas, last scale time and the conditions that say why it does
    (or cannot) scale, e.g. ScalingActive=False when no metrics are available."""
    session = current_session()
    info = await session.resolve("horizontalpodautoscalers.autoscaling")
    hpa = await session.get(info, name, session.namespace_or_default(namespace))
    status = hpa.get("status") or {}
    return HpaDetail(
        summary=horizontal_pod_autoscaler_row(hpa),
        desired_replicas=status.get("desiredReplicas"),
        last_scale_time=status.get("lastScaleTime"),
        conditions=conditions(hpa),
        object=trim(hpa),
    )


@tool(autoscaling, title="Create or update a HorizontalPodAutoscaler", safety=WRITE)
async def apply_hpa(
    name: Name,
    target_name: Annotated[str, Field(min_length=1, description="Name of the workload to scale.")],
    max_replicas: Annotated[int, Field(ge=1, le=1000, description="Upper bound of replicas.")],
    namespace: Namespace = None,
    target_kind: Annotated[
        Literal["Deployment", "StatefulSet", "ReplicaSet"], Field(description="Kind of the workload to scale.")
    ] = "Deployment",
    min_replicas: Annotated[int, Field(ge=1, le=1000, description="Lower bound of replicas.")] = 1,
    cpu_utilization: Annotated[
        int | None, Field(ge=1, le=1000, description="Target average CPU use, % of the pods' CPU requests.")
    ] = None,
    memory_utilization: Annotated[
        int | None, Field(ge=1, le=1000, description="Target average memory use, % of the pods' memory requests.")
    ] = None,
    scale_down_stabilization_seconds: Annotated[
        int | None, Field(ge=0, le=3600, description="Look-back window before scaling down (default 300).")
    ] = None,
    dry_run: DryRun = False,
) -> ObjectChange:
    """Create or update an autoscaling/v2 HorizontalPodAutoscaler for a Deployment/StatefulSet with server-side
    apply. Give at least one of cpu_utilization / memory_utilization; the pods need matching resource requests
    and the cluster needs metrics-server (K3s ships it) for the HPA to act."""
    if min_replicas > max_replicas:
        raise ToolError(f"min_replicas ({min_replicas}) is larger than max_replicas ({max_replicas}).")
    if cpu_utilization is None and memory_utilization is None:
        raise ToolError("Give cpu_utilization and/or memory_utilization: an HPA needs at least one target.")
    session = current_session()
    ns = session.namespace_or_default(namespace)
    target_info = await session.resolve(_TARGETS[target_kind])
    if await session.get_optional(target_info, target_name, ns) is None:
        raise ToolError(
            f"{target_kind} {target_name!r} not found in namespace {ns!r}, so there is nothing to autoscale. "
            "Check the name (get_deployments / get_statefulsets). Nothing was changed."
        )
    metrics = [
        {
            "type": "Resource",
            "resource": {"name": resource, "target": {"type": "Utilization", "averageUtilization": value}},
        }
        for resource, value in (("cpu", cpu_utilization), ("memory", memory_utilization))
        if value is not None
    ]
    spec: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": target_info.api_version, "kind": target_kind, "name": target_name},
        "minReplicas": min_replicas,
        "maxReplicas": max_replicas,
        "metrics": metrics,
    }
    if scale_down_stabilization_seconds is not None:
        spec["behavior"] = {"scaleDown": {"stabilizationWindowSeconds": scale_down_stabilization_seconds}}
    manifest = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }
    info = await session.resolve("HorizontalPodAutoscaler", "autoscaling/v2")
    change, _ = await apply_object(session, info, manifest, ns, dry_run=dry_run)
    return change
