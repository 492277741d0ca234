"""OAuth scopes decide what a caller may do: which tools its access token lists, and which it may call.

Three scopes, each granting the one before it: ``k3s:read`` (tools tagged `read`, i.e. annotated read-only),
``k3s:write`` (also the writes that are not destructive), ``k3s:destructive`` (also the destructive ones). A tool
the caller's scopes do not reach is left out of tools/list, and a call to it is refused with one sentence naming
the scope it needs. Requests without an access token (stdio, an in-memory client) are not filtered: with OAuth
configured, the HTTP transport lets no request without a valid token reach the MCP server.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from fastmcp.exceptions import ToolError
from fastmcp.server.dependencies import get_access_token
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import Tool, ToolResult
from mcp_types import CallToolRequestParams, ListToolsRequest

from k3s_mcp.tools import DISPATCH_TAG

SCOPE_READ = "k3s:read"
SCOPE_WRITE = "k3s:write"
SCOPE_DESTRUCTIVE = "k3s:destructive"
# In order of what they grant: each scope includes every scope before it.
K3S_SCOPES = (SCOPE_READ, SCOPE_WRITE, SCOPE_DESTRUCTIVE)


def required_scope(tool: Tool) -> str:
    """The least scope that reaches `tool`; a tool with no safety tag needs the most, k3s:destructive. A dispatcher
    needs only k3s:read: the tool it runs is checked against the token on that call."""
    if DISPATCH_TAG in tool.tags:
        return SCOPE_READ
    if "destructive" in tool.tags:
        return SCOPE_DESTRUCTIVE
    if "write" in tool.tags:
        return SCOPE_WRITE
    if "read" in tool.tags:
        return SCOPE_READ
    return SCOPE_DESTRUCTIVE


def scope_allows(granted: Collection[str], needed: str) -> bool:
    """True when one of the `granted` k3s scopes is `needed` or a scope after it."""
    rank = K3S_SCOPES.index(needed)
    return any(scope in K3S_SCOPES[rank:] for scope in granted)


class ScopeMiddleware(Middleware):
    """Lists only the tools the caller's access token reaches, and refuses calls of the others by scope."""

    async def on_list_tools(
        self,
        context: MiddlewareContext[ListToolsRequest],
        call_next: CallNext[ListToolsRequest, Sequence[Tool]],
    ) -> Sequence[Tool]:
        tools = await call_next(context)
        token = get_access_token()
        if token is None:
            return tools
        return [tool for tool in tools if scope_allows(token.scopes, required_scope(tool))]

    async def on_call_tool(
        self,
        context: MiddlewareContext[CallToolRequestParams],
        call_next: CallNext[CallToolRequestParams, ToolResult],
    ) -> ToolResult:
        token = get_access_token()
        if token is not None and context.fastmcp_context is not None:
            tool = await context.fastmcp_context.fastmcp.get_tool(context.message.name)
            if tool is not None:
                needed = required_scope(tool)
                if not scope_allows(token.scopes, needed):
                    granted = " ".join(sorted(token.scopes)) or "none"
                    raise ToolError(
                        f"Tool {tool.name!r} needs the OAuth scope {needed!r}, which your access token lacks "
                        f"(it grants: {granted})."
                    )
        return await call_next(context)
