"""Toolsets the default preset loads on first use: a call that may need one joins them all to the app first.

Under the default preset tools/list shows only the tools of ``LISTED_BY_DEFAULT_TOOLSETS``, so the other toolsets'
modules (building their tools is about a fifth of a second of CPU and a few megabytes) wait until a call may need
them: a call of a tool that is not loaded, ``call_tool`` naming one, and ``list_toolsets`` or ``enable_toolset``
(which name and list every toolset). That call joins every deferred toolset to the app, once, before any other
middleware looks the tool up, so the call, its checks and every later listing see the whole catalog.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastmcp import FastMCP
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import Tool, ToolResult
from mcp_types import CallToolRequestParams

from k3s_mcp.toolsets import toolset_server

# Disclosure tools that need the whole catalog loaded; call_tool needs it only for a tool not loaded.
_NAMING_EVERY_TOOLSET = frozenset({"list_toolsets", "enable_toolset"})
_DISPATCH = "call_tool"


class DeferredToolsets:
    """The toolsets of an app not loaded yet, and how they join it (`join`: the server's join_toolset)."""

    def __init__(
        self, app: FastMCP[Any], deferred: Sequence[str], join: Callable[[FastMCP[Any], FastMCP[Any]], None]
    ) -> None:
        self.app = app
        self.pending = list(deferred)
        self.join = join
        self._loaded: frozenset[str] | None = None

    def loaded_names(self) -> frozenset[str]:
        """The names of the tools the app has now (read once: until load(), it gains none)."""
        if self._loaded is None:
            components = self.app.local_provider._components.values()
            self._loaded = frozenset(c.name for c in components if isinstance(c, Tool))
        return self._loaded

    def load(self) -> None:
        """Join every deferred toolset to the app (a no-op once done)."""
        pending, self.pending = self.pending, []
        for toolset in pending:
            self.join(self.app, toolset_server(toolset))
        self._loaded = None

    def needed_by(self, name: str, arguments: dict[str, Any] | None) -> bool:
        if not self.pending:
            return False
        if name in _NAMING_EVERY_TOOLSET:
            return True
        if name == _DISPATCH:
            inner = (arguments or {}).get("name")
            return isinstance(inner, str) and inner not in self.loaded_names()
        return name not in self.loaded_names()


class DeferredToolsetsMiddleware(Middleware):
    """Outermost: loads the deferred toolsets before a call that may need them (see the module docstring)."""

    def __init__(self, deferred: DeferredToolsets) -> None:
        self.deferred = deferred

    async def on_call_tool(
        self,
        context: MiddlewareContext[CallToolRequestParams],
        call_next: CallNext[CallToolRequestParams, ToolResult],
    ) -> ToolResult:
        if self.deferred.needed_by(context.message.name, context.message.arguments):
            self.deferred.load()
        return await call_next(context)
