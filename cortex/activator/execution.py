"""Runs the activator's routed tool calls on k3s_mcp through the shared MCP session (cortex.mcp_adapter)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mcp_types

from cortex.activator.catalog import ToolCatalog
from cortex.mcp_adapter import McpSession, McpUnavailable
from cortex.oauth_credentials import ClientCredentials

_DISCLOSURE_TOOLS = {"list_toolsets", "enable_toolset", "call_tool"}


@dataclass
class ExecutionResult:
    """One tool call's outcome, in a shape that serialises to JSON."""

    tool: str
    ok: bool
    data: Any = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"tool": self.tool, "ok": self.ok, "data": self.data, "error": self.error}


class ToolExecutor:
    """Holds one MCP client session open for the activator's lifetime."""

    def __init__(
        self,
        mcp_url: str | None,
        timeout_seconds: float,
        app: Any = None,
        token: str | None = None,
        credentials: ClientCredentials | None = None,
    ) -> None:
        """`app` is a FastMCP server to use in-process instead of `k3s_mcp.server.mcp`; `token` is the bearer
        token for a remote `mcp_url`, or `credentials` get OAuth access tokens for it."""
        auth = None
        if credentials is not None:
            from cortex.mcp_oauth import ClientCredentialsAuth

            auth = ClientCredentialsAuth(credentials, timeout_seconds=min(timeout_seconds, 10.0))
        self.session = McpSession(
            mcp_url or app, timeout_seconds, token=token, token_setting="CORTEX_MCP_TOKEN", auth=auth
        )

    @property
    def target(self) -> str:
        return self.session.description

    async def start(self) -> None:
        """Raises McpUnavailable saying why k3s_mcp cannot be reached."""
        await self.session.start()

    async def stop(self) -> None:
        await self.session.stop()

    @property
    def connected(self) -> bool:
        return self.session.connected

    async def catalog(self) -> ToolCatalog:
        """Every tool the server offers. k3s_mcp's default tools/list names a few and discloses the rest with
        enable_toolset, whose answer carries the enabled tools as tools/list would list them."""
        tools = await self.session.list_tools()
        if any(tool.name == "enable_toolset" for tool in tools):
            outcome = await self.session.call("enable_toolset", {"toolsets": ["all"]})
            disclosed = outcome.data.get("tools") if outcome.ok and isinstance(outcome.data, dict) else None
            if isinstance(disclosed, list):
                listed = {tool.name for tool in tools}
                extra = [mcp_types.Tool.model_validate(item) for item in disclosed if isinstance(item, dict)]
                tools = [*tools, *(tool for tool in extra if tool.name not in listed)]
            # The activator routes to the tools themselves, never to the ones that disclose them.
            tools = [tool for tool in tools if tool.name not in _DISCLOSURE_TOOLS]
        return ToolCatalog.from_mcp_tools(tools, source=self.target)

    async def call(self, tool: str, arguments: dict[str, Any]) -> ExecutionResult:
        """Never raises for a tool's own failure: the error text comes back in the result."""
        if not self.session.connected:
            return ExecutionResult(tool, False, error=f"{self.target} is not connected")
        try:
            outcome = await self.session.call(tool, arguments)
        except McpUnavailable as exc:
            return ExecutionResult(tool, False, error=f"calling {tool} on {self.target} failed: {exc}")
        if not outcome.ok:
            return ExecutionResult(tool, False, error=outcome.error)
        return ExecutionResult(tool, True, data=outcome.data)
