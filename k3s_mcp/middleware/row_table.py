"""Replaces the JSON text of list answers with a table (K3S_LIST_TEXT=table); the renderer is views.table."""

from __future__ import annotations

from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import ToolResult
from mcp_types import CallToolRequestParams, TextContent

from k3s_mcp.views.table import row_table


class RowTableMiddleware(Middleware):
    """Replaces the JSON text of list answers with a table; structured content is left as it is."""

    async def on_call_tool(
        self,
        context: MiddlewareContext[CallToolRequestParams],
        call_next: CallNext[CallToolRequestParams, ToolResult],
    ) -> ToolResult:
        result = await call_next(context)
        structured = result.structured_content
        if not isinstance(structured, dict):
            return result
        text = row_table(structured)
        if text is None:
            return result
        return ToolResult(
            content=[TextContent(type="text", text=text)], structured_content=structured, meta=result.meta
        )
