"""Runs each tool call with the session of the kubeconfig context it names (the `context` argument)."""

from __future__ import annotations

from fastmcp.exceptions import ToolError
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import ToolResult
from mcp_types import CallToolRequestParams

from k3s_mcp.contexts import CONTEXT_ARGUMENT, ContextSessions, contexts_scope
from k3s_mcp.kube import session_scope
from k3s_mcp.views.arguments import invalid_argument


class ContextMiddleware(Middleware):
    """Runs each call with the session of its `context` argument (or the active one); the parameter itself is added
    to the listed tools by :mod:`k3s_mcp.surface`."""

    def __init__(self, registry: ContextSessions) -> None:
        self.registry = registry

    async def on_call_tool(
        self,
        context: MiddlewareContext[CallToolRequestParams],
        call_next: CallNext[CallToolRequestParams, ToolResult],
    ) -> ToolResult:
        arguments = dict(context.message.arguments or {})
        requested = arguments.pop(CONTEXT_ARGUMENT, None)
        if requested is not None and not isinstance(requested, str):
            rule = "must be a context name (a string; see list_contexts)"
            raise ToolError(
                invalid_argument(CONTEXT_ARGUMENT, rule, requested, redact_values=self.registry.settings.redact)
            )
        requested = requested.strip() or None if isinstance(requested, str) else None
        async with contexts_scope(self.registry):
            session = await self.registry.session_for(requested)
            message = context.message.model_copy(update={"arguments": arguments})
            async with session_scope(session):
                return await call_next(context.copy(message=message))
