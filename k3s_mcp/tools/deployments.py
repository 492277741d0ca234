"""Deployment tools: list deployments, show one, scale one and wait until the controller has done it."""

from __future__ import annotations

from typing import Annotated, Any

from fastmcp import Context, FastMCP
from fastmcp.tools.base import ToolResult
from pydantic import BaseModel, Field

from k3s_mcp.kube import current_session
from k3s_mcp.tools import ANY_OBJECT, READ_ONLY, WRITE, tool
from k3s_mcp.tools.changes import ScaleResult, scale_and_wait
from k3s_mcp.tools.lists import list_rows
from k3s_mcp.tools.parameters import ContinueToken, Detail, DryRun, Limit, ListNamespace, Namespace
from k3s_mcp.views import Condition, DeploymentRow, RowPage, conditions, deployment_row, trim
from k3s_mcp.views.summary import full_answer, output_schema, summary_answer

deployments: FastMCP = FastMCP("deployments")


class DeploymentDetail(BaseModel):
    """A deployment: its summary row, its conditions and the trimmed object."""

    summary: DeploymentRow
    conditions: list[Condition]
    object: dict[str, Any] = Field(description="The Deployment without managedFields and last-applied.")


@tool(deployments, title="List deployments", safety=READ_ONLY)
async def get_deployments(
    namespace: ListNamespace = None,
    limit: Limit = None,
    continue_token: ContinueToken = None,
) -> RowPage[DeploymentRow]:
    """List deployments as rows (name, namespace, ready, up-to-date, available, age, images, selector).

    Use it to see which workloads exist and whether their replicas are ready.
    """
    return await list_rows("deployments.apps", deployment_row, namespace, limit=limit, continue_token=continue_token)


@tool(deployments, title="Show a deployment", safety=READ_ONLY, output_schema=ANY_OBJECT)
async def get_deployment(
    name: Annotated[str, Field(min_length=1, description="Name of the deployment.")],
    namespace: Namespace = None,
    detail: Detail = "summary",
) -> ToolResult:
    """Show one deployment: replicas ready/updated/available, images, selector, conditions with reasons.
    detail='full' adds the whole (trimmed) object."""
    session = current_session()
    ns = session.namespace_or_default(namespace)
    info = await session.resolve("deployments.apps")
    deployment = trim(
        {**await session.get(info, name, ns), "kind": "Deployment"}, reveal_secrets=session.settings.reveal_secrets
    )
    if detail == "summary":
        return summary_answer(deployment)
    full = DeploymentDetail(summary=deployment_row(deployment), conditions=conditions(deployment), object=deployment)
    return full_answer(full.model_dump(mode="json"))


def _settled(deployment: dict[str, Any], replicas: int) -> tuple[bool, int]:
    status = deployment.get("status") or {}
    ready = int(status.get("readyReplicas") or 0)
    observed = int(status.get("observedGeneration") or 0) >= int(
        (deployment.get("metadata") or {}).get("generation") or 0
    )
    updated = int(status.get("updatedReplicas") or 0)
    total = int(status.get("replicas") or 0)
    done = observed and ready == replicas and total == replicas and (replicas == 0 or updated == replicas)
    return done, ready


@tool(deployments, title="Scale a deployment", safety=WRITE, output_schema=output_schema(ScaleResult))
async def scale_deployment(
    name: Annotated[str, Field(min_length=1, description="Name of the deployment.")],
    replicas: Annotated[int, Field(ge=0, le=1000, description="Desired number of replicas.")],
    ctx: Context,
    namespace: Namespace = None,
    wait: Annotated[
        bool, Field(description="Wait (up to K3S_SCALE_WAIT_SECONDS) until the replicas are ready.")
    ] = True,
    dry_run: DryRun = False,
) -> ToolResult:
    """Set a deployment's replica count and, by default, wait until the controller has made them ready.

    Reports progress while waiting. A deployment owned by an autoscaler may be scaled back by it.
    """
    session = current_session()
    info = await session.resolve("deployments.apps")
    return await scale_and_wait(
        session,
        ctx,
        info,
        name,
        session.namespace_or_default(namespace),
        replicas,
        settled=_settled,
        wait=wait,
        dry_run=dry_run,
        stuck_hint="Check get_pods and the deployment's conditions (get_deployment) for the cause.",
    )
