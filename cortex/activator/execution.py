"""Runs routed tool calls on k3s_mcp through a fastmcp Client (in-process app or remote streamable HTTP)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cortex.activator.catalog import ToolCatalog


class ExecutorUnavailable(RuntimeError):
    """The k3s_mcp server cannot be reached."""


@dataclass
class ExecutionResult:
    """One tool call's outcome, in a shape that serialises to JSON."""

    tool: str
    ok: bool
    data: Any = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"tool": self.tool, "ok": self.ok, "data": self.data, "error": self.error}


def _content_of(result: Any) -> Any:
    structured = getattr(result, "structured_content", None)
    if structured is not None:
        # FastMCP wraps non-object returns as {"result": ...}.
        if isinstance(structured, dict) and set(structured) == {"result"}:
            return structured["result"]
        return structured
    texts = [getattr(block, "text", "") for block in getattr(result, "content", []) or []]
    text = "\n".join(t for t in texts if t)
    try:
        return json.loads(text)
    except (json.JSONDecodeError, ValueError):
        return text


class ToolExecutor:
    """Holds one MCP client session open for the activator's lifetime."""

    def __init__(self, mcp_url: str | None, timeout_seconds: float, app: Any = None, token: str | None = None) -> None:
        """`app` is a FastMCP server to use in-process instead of `k3s_mcp.server.mcp`; `token` is the bearer
        token for a remote `mcp_url`."""
        self.mcp_url = mcp_url
        self.token = token
        self.app = app
        self.timeout_seconds = timeout_seconds
        self._client: Any = None

    @property
    def target(self) -> str:
        return self.mcp_url or "in-process k3s_mcp"

    async def start(self) -> None:
        from fastmcp import Client

        if self.mcp_url:
            client: Any = Client(self.mcp_url, timeout=self.timeout_seconds, auth=self.token or None)
        elif self.app is not None:
            client = Client(self.app, timeout=self.timeout_seconds)
        else:
            from k3s_mcp.server import mcp

            client = Client(mcp, timeout=self.timeout_seconds)
        try:
            await client.__aenter__()
        except Exception as exc:
            raise ExecutorUnavailable(f"cannot connect to {self.target}: {await self._explain(exc)}") from exc
        self._client = client

    async def _explain(self, exc: BaseException) -> str:
        """The connection error in words; a refused bearer token says which setting to fix."""
        text = str(exc) or type(exc).__name__
        if self.mcp_url and await self._refuses_token():
            if self.token:
                return "the server refused CORTEX_MCP_TOKEN (401 Unauthorized): it must equal its K3S_MCP_AUTH_TOKEN"
            return "the server requires a bearer token (401 Unauthorized): set CORTEX_MCP_TOKEN"
        return text

    async def _refuses_token(self) -> bool:
        """Whether the remote server answers 401/403 to an MCP initialize carrying our (or no) token.

        The MCP client reports a refused token only as "Server returned an error response", so one plain
        request finds out whether authentication was the problem.
        """
        import httpx

        assert self.mcp_url is not None
        headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        initialize = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "cortex-activator", "version": "0.1.0"},
            },
        }
        try:
            async with httpx.AsyncClient(timeout=min(self.timeout_seconds, 5.0)) as http:
                response = await http.post(self.mcp_url, json=initialize, headers=headers)
        except httpx.HTTPError:
            return False
        return response.status_code in (401, 403)

    async def stop(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.__aexit__(None, None, None)

    @property
    def connected(self) -> bool:
        return self._client is not None

    async def catalog(self) -> ToolCatalog:
        if self._client is None:
            raise ExecutorUnavailable("the MCP client is not connected")
        try:
            tools = await self._client.list_tools()
        except Exception as exc:
            raise ExecutorUnavailable(f"tools/list on {self.target} failed: {exc}") from exc
        return ToolCatalog.from_mcp_tools(tools, source=self.target)

    async def call(self, tool: str, arguments: dict[str, Any]) -> ExecutionResult:
        """Never raises for a tool's own failure: the error text comes back in the result."""
        if self._client is None:
            return ExecutionResult(tool, False, error=f"{self.target} is not connected")
        try:
            result = await self._client.call_tool_mcp(tool, arguments, timeout=self.timeout_seconds)
        except Exception as exc:
            return ExecutionResult(tool, False, error=f"calling {tool} on {self.target} failed: {exc}")
        if getattr(result, "is_error", False):
            texts = [getattr(block, "text", "") for block in result.content or []]
            return ExecutionResult(tool, False, error="\n".join(t for t in texts if t) or "tool failed")
        return ExecutionResult(tool, True, data=_content_of(result))
