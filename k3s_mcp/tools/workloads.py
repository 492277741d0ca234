"""StatefulSet and DaemonSet tools: list, show, and scale a StatefulSet (waiting for its pods)."""

from __future__ import annotations

from typing import Annotated, Any

from fastmcp import Context, FastMCP
from fastmcp.tools.base import ToolResult
from pydantic import BaseModel, Field

from k3s_mcp.kube import current_session
from k3s_mcp.tools import READ_ONLY, WRITE, tool
from k3s_mcp.tools.changes import ScaleResult, scale_and_wait
from k3s_mcp.tools.lists import list_rows
from k3s_mcp.tools.parameters import ContinueToken, DryRun, Labels, Limit, ListNamespace, Name, Namespace
from k3s_mcp.views import (
    Condition,
    DaemonSetRow,
    RowPage,
    StatefulSetRow,
    conditions,
    daemonset_row,
    statefulset_row,
    trim,
)
from k3s_mcp.views.summary import output_schema

workloads: FastMCP = FastMCP("workloads")


class StatefulSetDetail(BaseModel):
    summary: StatefulSetRow
    current_revision: str | None
    update_revision: str | None
    conditions: list[Condition]
    object: dict[str, Any] = Field(description="The StatefulSet without managedFields and last-applied.")


class DaemonSetDetail(BaseModel):
    summary: DaemonSetRow
    conditions: list[Condition]
    object: dict[str, Any] = Field(description="The DaemonSet without managedFields and last-applied.")


@tool(workloads, title="List StatefulSets", safety=READ_ONLY)
async def get_statefulsets(
    namespace: ListNamespace = None,
    labels: Labels = None,
    limit: Limit = None,
    continue_token: ContinueToken = None,
) -> RowPage[StatefulSetRow]:
    """List StatefulSets: ready/desired, updated replicas, governing service, update strategy, images."""
    return await list_rows(
        "statefulsets.apps", statefulset_row, namespace, labels=labels, limit=limit, continue_token=continue_token
    )


@tool(workloads, title="Show a StatefulSet", safety=READ_ONLY)
async def get_statefulset(name: Name, namespace: Namespace = None) -> StatefulSetDetail:
    """Show one StatefulSet: summary, current/update revisions (differ while a rollout runs), conditions, object."""
    session = current_session()
    info = await session.resolve("statefulsets.apps")
    statefulset = await session.get(info, name, session.namespace_or_default(namespace))
    status = statefulset.get("status") or {}
    return StatefulSetDetail(
        summary=statefulset_row(statefulset),
        current_revision=status.get("currentRevision"),
        update_revision=status.get("updateRevision"),
        conditions=conditions(statefulset),
        object=trim(statefulset),
    )


@tool(workloads, title="List DaemonSets", safety=READ_ONLY)
async def get_daemonsets(
    namespace: ListNamespace = None,
    labels: Labels = None,
    limit: Limit = None,
    continue_token: ContinueToken = None,
) -> RowPage[DaemonSetRow]:
    """List DaemonSets: desired/current/ready/up-to-date/available pods, node selector, images."""
    return await list_rows(
        "daemonsets.apps", daemonset_row, namespace, labels=labels, limit=limit, continue_token=continue_token
    )


@tool(workloads, title="Show a DaemonSet", safety=READ_ONLY)
async def get_daemonset(name: Name, namespace: Namespace = None) -> DaemonSetDetail:
    """Show one DaemonSet: summary (one pod per eligible node), conditions and the trimmed object."""
    session = current_session()
    info = await session.resolve("daemonsets.apps")
    daemonset = await session.get(info, name, session.namespace_or_default(namespace))
    return DaemonSetDetail(summary=daemonset_row(daemonset), conditions=conditions(daemonset), object=trim(daemonset))


def _statefulset_settled(statefulset: dict[str, Any], replicas: int) -> tuple[bool, int]:
    status = statefulset.get("status") or {}
    ready = int(status.get("readyReplicas") or 0)
    observed = int(status.get("observedGeneration") or 0) >= int(
        (statefulset.get("metadata") or {}).get("generation") or 0
    )
    return observed and ready == replicas and int(status.get("replicas") or 0) == replicas, ready


@tool(workloads, title="Scale a StatefulSet", safety=WRITE, output_schema=output_schema(ScaleResult))
async def scale_statefulset(
    name: Name,
    replicas: Annotated[int, Field(ge=0, le=1000, description="Desired number of replicas.")],
    ctx: Context,
    namespace: Namespace = None,
    wait: Annotated[
        bool, Field(description="Wait (up to K3S_SCALE_WAIT_SECONDS) until the replicas are ready.")
    ] = True,
    dry_run: DryRun = False,
) -> ToolResult:
    """Set a StatefulSet's replica count through its scale subresource and, by default, wait for readiness.

    Pods start and stop one at a time in ordinal order (name-0, name-1, ...) unless podManagementPolicy is
    Parallel. Scaling down keeps the PersistentVolumeClaims of removed pods.
    """
    session = current_session()
    info = await session.resolve("statefulsets.apps")
    return await scale_and_wait(
        session,
        ctx,
        info,
        name,
        session.namespace_or_default(namespace),
        replicas,
        settled=_statefulset_settled,
        wait=wait,
        dry_run=dry_run,
        subresource="scale",
        stuck_hint="Pods start in order, so one stuck pod blocks the rest: check get_pods and describe_object.",
    )
