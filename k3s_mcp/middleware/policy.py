"""Refuses, by name and with the reason, calls of tools the settings hide (read-only, destructive, toolsets)."""

from __future__ import annotations

from collections.abc import Sequence

from fastmcp.exceptions import ToolError
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import ToolResult
from mcp_types import CallToolRequestParams

from k3s_mcp.middleware.tool_lookup import called_tool
from k3s_mcp.settings import Settings
from k3s_mcp.surface import tool_refusal
from k3s_mcp.toolsets import TOOLSET_MODULES, toolset_server


class ToolPolicyMiddleware(Middleware):
    """The listing hides these tools (:class:`k3s_mcp.surface.ToolSurface`); a client that calls one anyway is told
    why. Tools of toolsets that K3S_TOOLSETS leaves out are not even loaded, so they are looked up only here."""

    def __init__(self, settings: Settings, enabled_toolsets: Sequence[str]) -> None:
        self.settings = settings
        self.disabled_toolsets = [name for name in TOOLSET_MODULES if name not in enabled_toolsets]
        self._disabled_owners: dict[str, str] | None = None

    async def disabled_toolset_of(self, tool_name: str) -> str | None:
        """The left-out toolset that owns `tool_name`, if any; its modules are imported only on this error path."""
        if self._disabled_owners is None:
            owners: dict[str, str] = {}
            for toolset in self.disabled_toolsets:
                for tool in await toolset_server(toolset).list_tools(run_middleware=False):
                    owners[tool.name] = toolset
            self._disabled_owners = owners
        return self._disabled_owners.get(tool_name)

    async def on_call_tool(
        self,
        context: MiddlewareContext[CallToolRequestParams],
        call_next: CallNext[CallToolRequestParams, ToolResult],
    ) -> ToolResult:
        if context.fastmcp_context is not None:
            name = context.message.name
            tool = await called_tool(context)
            if tool is not None:
                refusal = tool_refusal(tool, self.settings)
                if refusal:
                    raise ToolError(refusal)
            elif self.disabled_toolsets and (toolset := await self.disabled_toolset_of(name)):
                raise ToolError(
                    f"Tool {name!r} is disabled: its toolset {toolset!r} is not enabled "
                    f"(K3S_TOOLSETS={self.settings.toolsets}). Add {toolset} to K3S_TOOLSETS to use it."
                )
        return await call_next(context)
