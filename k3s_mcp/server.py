"""The k3s-mcp FastMCP app `mcp`: lifespan, middleware, and every enabled tool module composed in without a prefix.

How a tool module plugs in (see k3s_mcp/tools/pods.py for a complete example):

1. ``k3s_mcp/tools/<area>.py`` creates its own ``FastMCP("<area>")`` server and registers async tools on it
   with ``@tool(server, title=..., safety=READ_ONLY | WRITE | WRITE_AGAIN | DESTRUCTIVE)`` from
   ``k3s_mcp.tools``: the safety is declared once and the policy's tags derive from it.
2. Inside a tool, ``session = current_session()`` (``k3s_mcp.kube``) is the shared Kubernetes session
   and ``session.settings`` the configuration; the session validates names, masks Secrets and raises errors
   already worded for the user; output is shaped by ``k3s_mcp.render``.
3. Add the module to ``TOOLSET_MODULES`` in ``k3s_mcp/toolsets.py`` under the server's name (its toolset
   name in K3S_TOOLSETS); it is imported only when its toolset is enabled, composed in with no name prefix, and
   the policy middleware hides its tools in read-only mode unless they are read-only.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastmcp import FastMCP
from fastmcp.exceptions import FastMCPError, NotFoundError, ToolError
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import Tool, ToolResult
from mcp_types import CallToolRequestParams, ListToolsRequest
from starlette.requests import Request
from starlette.responses import JSONResponse

from k3s_mcp.answers import RowTableMiddleware
from k3s_mcp.argument_errors import ArgumentErrorMiddleware
from k3s_mcp.confirmation import ConfirmationMiddleware, ConfirmationPolicy
from k3s_mcp.contexts import ContextMiddleware, ContextSessions
from k3s_mcp.kube import KubeSession, Target, session_scope, translate_api_error
from k3s_mcp.listing import CompactToolListingMiddleware
from k3s_mcp.redaction import RedactionMiddleware
from k3s_mcp.settings import Settings, load_settings
from k3s_mcp.toolsets import TOOLSET_MODULES, selected_toolsets, toolset_server

log = logging.getLogger(__name__)

INSTRUCTIONS = """\
Manage a K3s / Kubernetes cluster. Read tools (get_*) are safe; apply_manifest uses server-side apply \
and supports dry_run; delete/restart/exec are destructive. Lists return compact rows with a \
continue_token when more remain. Secret values are never shown, only keys and sizes. Every cluster tool \
takes an optional `context`: a kubeconfig context (see list_contexts) to run that one call against; \
omitted = the active context."""


def tool_refusal(tool: Tool, settings: Settings) -> str | None:
    """Why the configuration forbids this tool, or None when it is allowed."""
    if settings.read_only and "read" not in tool.tags:
        return (
            f"Tool {tool.name!r} is disabled: the server runs in read-only mode (K3S_READ_ONLY=true). "
            "Only read tools are available."
        )
    if not settings.allow_destructive and "destructive" in tool.tags:
        return f"Tool {tool.name!r} is disabled: destructive tools are turned off (K3S_ALLOW_DESTRUCTIVE=false)."
    return None


class KubeSessionMiddleware(Middleware):
    """Makes this app's Kubernetes session the current one while a request is handled."""

    def __init__(self, session: KubeSession) -> None:
        self.session = session

    async def on_request(self, context: MiddlewareContext[Any], call_next: CallNext[Any, Any]) -> Any:
        async with session_scope(self.session):
            return await call_next(context)


class ToolPolicyMiddleware(Middleware):
    """Hides and refuses tools that read-only mode or K3S_ALLOW_DESTRUCTIVE=false turn off, and refuses by name
    the tools of toolsets that K3S_TOOLSETS leaves out (those are not mounted, so they are never listed)."""

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

    async def on_list_tools(
        self,
        context: MiddlewareContext[ListToolsRequest],
        call_next: CallNext[ListToolsRequest, Sequence[Tool]],
    ) -> Sequence[Tool]:
        tools = await call_next(context)
        return [tool for tool in tools if tool_refusal(tool, self.settings) is None]

    async def on_call_tool(
        self,
        context: MiddlewareContext[CallToolRequestParams],
        call_next: CallNext[CallToolRequestParams, ToolResult],
    ) -> ToolResult:
        if context.fastmcp_context is not None:
            name = context.message.name
            tool = await context.fastmcp_context.fastmcp.get_tool(name)
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


class ErrorShieldMiddleware(Middleware):
    """Turns any unexpected exception into a one-line ToolError; the traceback goes to the log only."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def on_call_tool(
        self,
        context: MiddlewareContext[CallToolRequestParams],
        call_next: CallNext[CallToolRequestParams, ToolResult],
    ) -> ToolResult:
        try:
            return await call_next(context)
        except (FastMCPError, NotFoundError):
            raise
        except Exception as error:
            name = context.message.name
            log.exception("Tool %s failed unexpectedly", name)
            translated = translate_api_error(error, Target(kind="the cluster", action=f"run {name} against"))
            raise ToolError(str(translated)) from None


def build_server(settings: Settings | None = None) -> FastMCP[dict[str, Any]]:
    """A k3s-mcp app for `settings` (read from the environment when omitted)."""
    settings = settings or load_settings()
    toolsets = selected_toolsets(settings.toolsets)
    session = KubeSession(settings)
    context_sessions = ContextSessions(settings, session)

    @asynccontextmanager
    async def lifespan(_: FastMCP[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
        await session.open()
        try:
            yield {"kube": session}
        finally:
            await context_sessions.close()
            await session.close()

    app: FastMCP[dict[str, Any]] = FastMCP(
        name="k3s-mcp",
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        middleware=[
            # Outermost of the call path: it redacts the final answer (the row table's text included) and every
            # error, those the error shield and the argument wording raise as well (K3S_REDACT=false: left out).
            *([RedactionMiddleware(reveal_secrets=settings.reveal_secrets)] if settings.redact else []),
            # Outermost of the listing path, so it also compacts what the inner middleware adds to each tool.
            *([CompactToolListingMiddleware()] if settings.compact_tool_schemas else []),
            *([RowTableMiddleware()] if settings.list_text == "table" else []),
            ErrorShieldMiddleware(settings),
            # Inside the shield: FastMCP's argument validation errors become one sentence for every tool.
            ArgumentErrorMiddleware(redact_values=settings.redact),
            KubeSessionMiddleware(session),
            ToolPolicyMiddleware(settings, toolsets),
            ContextMiddleware(context_sessions),
            ConfirmationMiddleware(ConfirmationPolicy.from_settings(settings)),
        ],
        mask_error_details=False,
    )
    for toolset in toolsets:
        # The module's tools join the app as a provider rather than a mounted server: same tools, names and
        # middleware, without a second server's call path per call (about 35 % more calls/s with 17 modules).
        app.add_provider(toolset_server(toolset).local_provider)

    @app.custom_route("/health", methods=["GET"])
    async def health(_: Request) -> JSONResponse:
        """Liveness for probes over HTTP: the process serves. Cluster trouble is reported per tool call, not here,
        so a slow API server never takes the MCP endpoint out of a Service."""
        return JSONResponse({"status": "ok"})

    return app


mcp = build_server()
