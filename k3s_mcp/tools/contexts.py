"""Context tools: list the kubeconfig's contexts and switch the active one after checking its cluster answers."""

from __future__ import annotations

from typing import Annotated

from fastmcp import FastMCP
from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field

from k3s_mcp.contexts import CONTEXT_FREE_META, current_contexts
from k3s_mcp.tools import READ_ONLY, tool
from k3s_mcp.views.contexts import ContextRow

contexts: FastMCP = FastMCP("contexts")

# Switching touches no cluster object, only which cluster later calls go to: not destructive, idempotent.
SWITCH = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True)


class ContextList(BaseModel):
    items: list[ContextRow]
    count: int
    active: str | None = Field(description="Name of the active context.")


class SwitchResult(BaseModel):
    active: str
    previous: str | None
    server: str | None
    server_version: str = Field(description="gitVersion the new context's API server reported.")
    message: str


@tool(contexts, title="List kubeconfig contexts", safety=READ_ONLY, meta={CONTEXT_FREE_META: True})
async def list_contexts() -> ContextList:
    """List the contexts of the server's kubeconfig, marking the active one.

    Any tool accepts `context=<name>` to run one call against another context; switch_context changes
    the active context for all later calls.
    """
    registry = current_contexts()
    found = await registry.contexts()
    active = await registry.active_name()
    rows = [
        ContextRow(
            name=context.name,
            current=context.name == active,
            cluster=context.cluster,
            user=context.user,
            namespace=context.namespace,
            server=context.server,
        )
        for context in found.contexts
    ]
    return ContextList(items=rows, count=len(rows), active=active)


@tool(contexts, title="Switch the active context", safety=SWITCH, meta={CONTEXT_FREE_META: True})
async def switch_context(
    name: Annotated[str, Field(min_length=1, description="Context to make active (see list_contexts).")],
) -> SwitchResult:
    """Make another kubeconfig context the active one, after checking its API server answers.

    An unknown context or a cluster that does not answer leaves the current context active and says why.
    """
    registry = current_contexts()
    session, version, previous = await registry.switch(name.strip())
    return SwitchResult(
        active=name.strip(),
        previous=previous,
        server=session.server,
        server_version=version,
        message=f"Active context is now {name.strip()!r} ({session.server}, {version}).",
    )
