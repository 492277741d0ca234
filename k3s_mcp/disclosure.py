"""The three tools that reach the whole catalog from the default listing: list_toolsets, enable_toolset, call_tool.

Under the default preset (K3S_TOOLSETS unset) tools/list carries a few tools; these three name the rest
(``list_toolsets``), add toolsets to the client's listing with a ``notifications/tools/list_changed``
(``enable_toolset``, whose answer also carries the enabled tools' schemas), and run any tool by name
(``call_tool``) for a client that cannot re-read its listing. ``call_tool`` runs the inner call through the
app's whole middleware chain (:meth:`FastMCP.call_tool`), exactly as if the client had called that tool itself:
audit, redaction, argument errors, the read-only and destructive switches, OAuth scopes, access policy,
`context` and confirmation all see the inner tool's own name and arguments.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastmcp import Context, FastMCP
from fastmcp.exceptions import ToolError
from fastmcp.server.dependencies import get_access_token
from fastmcp.server.transforms.search.base import serialize_tools_for_output_markdown
from fastmcp.tools.base import Tool, ToolResult
from mcp_types import TextContent, ToolListChangedNotification
from pydantic import BaseModel, Field

from k3s_mcp.contexts import CONTEXT_FREE_META
from k3s_mcp.middleware.scopes import required_scope, scope_allows
from k3s_mcp.surface import DISCLOSURE_TOOLS, ToolSurface
from k3s_mcp.tools import ANY_OBJECT, DESTRUCTIVE, DISPATCH_TAG, READ_ONLY, safety_tags, tool
from k3s_mcp.toolsets import LISTED_BY_DEFAULT

ALL = "all"
Listed = Literal["all", "some", "none"]


class ToolsetRow(BaseModel):
    """One toolset: how many of its tools this client's tools/list shows, and its tools."""

    toolset: str
    listed: Listed
    tools: list[str]


class ToolsetList(BaseModel):
    items: list[ToolsetRow]
    count: int
    note: str


class EnabledToolsets(BaseModel):
    """What enable_toolset did; `tools` are the enabled tools as tools/list shows them."""

    enabled: list[str]
    listed: bool = Field(description="False when this connection keeps no state: use call_tool instead.")
    tools: list[dict[str, Any]]


def _reachable(tools: list[Tool]) -> list[Tool]:
    """`tools` the caller's OAuth scopes reach (all of them without an access token)."""
    token = get_access_token()
    if token is None:
        return tools
    return [t for t in tools if scope_allows(token.scopes, required_scope(t))]


def disclosure_server(surface: ToolSurface) -> FastMCP[Any]:
    """The disclosure tools of an app whose listing `surface` decides."""
    server: FastMCP[Any] = FastMCP("disclosure")
    context_free = {CONTEXT_FREE_META: True}

    @tool(server, title="List toolsets and their tools", safety=READ_ONLY, meta=context_free)
    async def list_toolsets() -> ToolsetList:
        """Every toolset and its tool names, and which ones tools/list shows you. Any tool can be called by name
        (or through call_tool) whether listed or not; enable_toolset lists a toolset and returns its schemas."""
        enabled = surface.enabled_toolsets(surface.client_scope())
        rows = []
        for toolset, tools in (await surface.catalog()).items():
            names = [t.name for t in _reachable(tools)]
            if names:
                shown = sum(1 for name in names if toolset in enabled or name in LISTED_BY_DEFAULT)
                listed: Listed = "all" if shown == len(names) else "some" if shown else "none"
                rows.append(ToolsetRow(toolset=toolset, listed=listed, tools=names))
        note = "Listed by default: " + ", ".join(LISTED_BY_DEFAULT) + "."
        return ToolsetList(items=rows, count=len(rows), note=note)

    @tool(server, title="Enable toolsets", safety=READ_ONLY, meta=context_free, output_schema=ANY_OBJECT)
    async def enable_toolset(
        toolsets: Annotated[
            list[str], Field(min_length=1, max_length=64, description="Toolset names from list_toolsets, or 'all'.")
        ],
        ctx: Context,
    ) -> ToolResult:
        """Add toolsets to your tools/list (sends notifications/tools/list_changed) and return their tools'
        schemas. Clients that do not re-read tools/list can run any of them with call_tool."""
        catalog = await surface.catalog()
        wanted: set[str] = set()
        for raw in toolsets:
            name = raw.strip().lower() if isinstance(raw, str) else ""
            if name == ALL:
                wanted.update(catalog)
            elif name in catalog:
                wanted.add(name)
            else:
                shown = repr(raw)[:80]
                raise ToolError(f"Unknown toolset {shown}: valid names are {ALL}, {', '.join(catalog)}.")
        chosen = [name for name in catalog if name in wanted]
        tools = [t for name in chosen for t in _reachable(catalog[name])]
        scope = surface.client_scope()
        if scope is not None:
            surface.enable(scope, frozenset(chosen))
            await ctx.send_notification(ToolListChangedNotification())
        how = (
            "Now in your tools/list."
            if scope is not None
            else "This connection keeps no state between requests, so tools/list is unchanged: call them by name "
            "or through call_tool."
        )
        text = f"Enabled {', '.join(chosen)}. {how}\n\n{serialize_tools_for_output_markdown(tools)}"
        result = EnabledToolsets(
            enabled=chosen,
            listed=scope is not None,
            tools=[t.to_mcp_tool().model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools],
        )
        return ToolResult(content=[TextContent(type="text", text=text)], structured_content=result.model_dump())

    @server.tool(
        title="Call any tool by name",
        annotations=DESTRUCTIVE,
        tags=safety_tags(DESTRUCTIVE) | {DISPATCH_TAG},
        meta=context_free,
    )
    async def call_tool(
        name: Annotated[str, Field(min_length=1, max_length=128, description="Tool name, as list_toolsets shows.")],
        ctx: Context,
        arguments: Annotated[
            dict[str, Any] | None, Field(description="The tool's arguments (context and confirm included).")
        ] = None,
    ) -> ToolResult:
        """Run any tool of the catalog by name, listed or not, with the same checks as calling it directly
        (read-only mode, confirmation, access policy, audit). Its schema: enable_toolset."""
        if name in DISCLOSURE_TOOLS:
            raise ToolError(f"call_tool runs catalog tools; call {name} directly.")
        if await ctx.fastmcp.get_tool(name) is None:
            raise ToolError(f"Unknown tool {name[:80]!r}: list_toolsets names every tool.")
        return await ctx.fastmcp.call_tool(name, arguments or {})

    return server
