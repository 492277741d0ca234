"""How cortex reaches k3s_mcp: one MCP client session, the tools it offers, tool calls, and what needs consent.

The activator (running the tool a request was routed to) and the execution-k3s layer both go through this module,
so they connect the same way (an in-process FastMCP app, or a remote server over streamable HTTP with a bearer
token), read the same results and apply one rule to decide which tools are destructive.
"""

from __future__ import annotations

import contextlib
import importlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # Only for annotations: the offline router reads tool safety without loading the MCP packages.
    import mcp_types
    from fastmcp import Client, FastMCP

    from cortex.mcp_oauth import ClientCredentialsAuth

# The argument k3s_mcp's confirmation policy adds to every tool it may hold back (k3s_mcp.confirmation).
CONFIRM_ARGUMENT = "confirm"
IN_PROCESS = "in-process k3s_mcp"


class McpUnavailable(RuntimeError):
    """The MCP server cannot be reached, refused the session, or the session broke during a call."""


class McpTargetError(ValueError):
    """A target names neither a FastMCP server (`module:attribute`) nor an http(s) URL."""


@dataclass(frozen=True)
class ToolSafety:
    """What a tool's annotations promise: it only reads, or it may destroy something."""

    read_only: bool
    destructive: bool


def tool_safety(annotations: mcp_types.ToolAnnotations | None) -> ToolSafety:
    """The one reading of `readOnlyHint` / `destructiveHint`, as careful as MCP's defaults.

    MCP defines destructiveHint as true when it is absent and the tool is not read-only, so a tool that declares
    nothing is treated as destructive; k3s_mcp declares both hints on every tool.
    """
    read_only = bool(annotations is not None and annotations.read_only_hint)
    hint = annotations.destructive_hint if annotations is not None else None
    destructive = (not read_only) if hint is None else bool(hint)
    return ToolSafety(read_only=read_only, destructive=destructive)


def needs_confirmation(destructive: bool, parameters: Iterable[str]) -> bool:
    """A destructive tool, or one k3s_mcp's confirmation policy may hold back (it takes `confirm`), needs consent."""
    return destructive or CONFIRM_ARGUMENT in parameters


def tool_parameters(tool: mcp_types.Tool) -> list[str]:
    return [str(name) for name in (tool.input_schema or {}).get("properties") or {}]


def tool_needs_confirmation(tool: mcp_types.Tool) -> bool:
    return needs_confirmation(tool_safety(tool.annotations).destructive, tool_parameters(tool))


def load_mcp_target(target: str) -> FastMCP[Any] | str:
    """The FastMCP server named by `module:attribute`, or the URL itself when `target` is one."""
    from fastmcp import FastMCP

    if target.startswith(("http://", "https://")):
        return target
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise McpTargetError(f"CORTEX_K3S_MCP_TARGET {target!r} is neither module:attribute nor a URL")
    try:
        server = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise McpTargetError(f"cannot load the MCP server {target!r}: {exc}") from None
    if not isinstance(server, FastMCP):
        raise McpTargetError(f"{target!r} is a {type(server).__name__}, not a FastMCP server")
    return server


@dataclass(frozen=True)
class ToolOutcome:
    """What one tool call answered: its structured content (unwrapped) and its text, or the tool's error."""

    tool: str
    ok: bool
    structured: Any = None
    text: str = ""
    error: str | None = None

    @property
    def data(self) -> Any:
        """The JSON-ready answer: the structured content, else the text parsed as JSON, else the text."""
        if self.structured is not None:
            return self.structured
        try:
            return json.loads(self.text)
        except (json.JSONDecodeError, ValueError):
            return self.text


def _text_of(result: mcp_types.CallToolResult) -> str:
    texts = [getattr(block, "text", "") for block in result.content or []]
    return "\n".join(text for text in texts if text)


def outcome_of(tool: str, result: mcp_types.CallToolResult) -> ToolOutcome:
    text = _text_of(result)
    if result.is_error:
        return ToolOutcome(tool, False, text=text, error=text or f"{tool} failed")
    structured = result.structured_content
    # FastMCP wraps a result that is not an object as {"result": ...}.
    if isinstance(structured, dict) and set(structured) == {"result"}:
        structured = structured["result"]
    return ToolOutcome(tool, True, structured=structured, text=text)


def _token_endpoint_error(exc: BaseException) -> str | None:
    """The token endpoint's refusal inside `exc` (its cause, context or exception group), if there is one."""
    from cortex.mcp_oauth import TokenEndpointError

    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, TokenEndpointError):
            return str(current)
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend(item for item in (current.__cause__, current.__context__) if item is not None)
    return None


class McpSession:
    """One MCP client session, opened by `start` and kept until `stop`.

    `target` is a FastMCP server run in-process, the streamable-HTTP URL of a remote one, or None for
    `k3s_mcp.server.mcp` (imported only when the session starts). `token` is the bearer token sent to a URL;
    `token_setting` names the setting it comes from, so a refused token is explained in terms of that setting.
    `auth` replaces the static token with OAuth client-credentials tokens (:mod:`cortex.mcp_oauth`).
    """

    def __init__(
        self,
        target: FastMCP[Any] | str | None,
        timeout_seconds: float,
        *,
        token: str | None = None,
        token_setting: str | None = None,
        auth: ClientCredentialsAuth | None = None,
    ) -> None:
        self.target = target
        self.timeout_seconds = timeout_seconds
        self.token = token
        self.token_setting = token_setting
        self.auth = auth
        self._client: Client[Any] | None = None
        self._exit_stack: contextlib.AsyncExitStack | None = None

    @property
    def description(self) -> str:
        return self.target if isinstance(self.target, str) else IN_PROCESS

    @property
    def connected(self) -> bool:
        return self._client is not None

    async def start(self) -> None:
        """Open the session; raise McpUnavailable saying why it could not be opened."""
        if self._client is not None:
            return
        from fastmcp import Client

        target = self.target
        if target is None:
            from k3s_mcp.server import mcp

            target = mcp
        client: Client[Any]
        if isinstance(target, str):
            client = Client(target, timeout=self.timeout_seconds, auth=self.auth or self.token or None)
        else:
            client = Client(target, timeout=self.timeout_seconds)
        stack = contextlib.AsyncExitStack()
        try:
            await stack.enter_async_context(client)
        except Exception as exc:
            raise McpUnavailable(f"cannot connect to {self.description}: {await self._explain(exc)}") from exc
        self._client, self._exit_stack = client, stack

    async def stop(self) -> None:
        if self._exit_stack is not None:
            stack, self._exit_stack, self._client = self._exit_stack, None, None
            await stack.aclose()

    async def list_tools(self) -> list[mcp_types.Tool]:
        if self._client is None:
            raise McpUnavailable("the MCP client is not connected")
        try:
            return list(await self._client.list_tools())
        except Exception as exc:
            raise McpUnavailable(f"tools/list on {self.description} failed: {exc}") from exc

    async def call(self, tool: str, arguments: dict[str, Any]) -> ToolOutcome:
        """The tool's answer, its own failure included; McpUnavailable when the call itself could not be made."""
        if self._client is None:
            raise McpUnavailable(f"{self.description} is not connected")
        try:
            result = await self._client.call_tool_mcp(tool, arguments, timeout=self.timeout_seconds)
        except Exception as exc:
            raise McpUnavailable(str(exc)) from exc
        return outcome_of(tool, result)

    async def _explain(self, exc: BaseException) -> str:
        """The connection error in words; a refused bearer token says which setting to fix."""
        text = str(exc) or type(exc).__name__
        refused = _token_endpoint_error(exc)
        if refused is not None:
            return f"no OAuth access token for {self.description}: {refused}"
        if isinstance(self.target, str) and self.auth is not None and await self._refuses_token(self.target):
            return (
                f"{self.description} refused the OAuth access token of client {self.auth.credentials.client_id!r} "
                "(401): check that the server trusts the token's issuer and that CORTEX_MCP_OAUTH_AUDIENCE is its "
                "audience"
            )
        if isinstance(self.target, str) and self.token_setting and await self._refuses_token(self.target):
            if self.token:
                return (
                    f"the server refused {self.token_setting} (401 Unauthorized): it must equal its K3S_MCP_AUTH_TOKEN"
                )
            return f"the server requires a bearer token (401 Unauthorized): set {self.token_setting}"
        return text

    async def _refuses_token(self, url: str) -> bool:
        """Whether the remote server answers 401/403 to an MCP initialize carrying our (or no) token.

        The MCP client reports a refused token only as "Server returned an error response", so one plain
        request finds out whether authentication was the problem.
        """
        import httpx

        from cortex.mcp_oauth import TokenEndpointError

        headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
        if self.auth is not None:
            try:
                headers["Authorization"] = f"Bearer {await self.auth.token()}"
            except TokenEndpointError:
                return False
        elif self.token:
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
                response = await http.post(url, json=initialize, headers=headers)
        except httpx.HTTPError:
            return False
        return response.status_code in (401, 403)
