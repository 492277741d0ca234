"""Turns any unexpected exception of a tool into one sentence for the client; the traceback goes to the log only."""

from __future__ import annotations

import logging

from fastmcp.exceptions import FastMCPError, NotFoundError, ToolError
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import ToolResult
from mcp_types import CallToolRequestParams

from k3s_mcp.kube import KubeError, Target, translate_api_error

log = logging.getLogger(__name__)


class ErrorShieldMiddleware(Middleware):
    """Worded errors (the Kubernetes layer's, the tools' own) pass as they are; anything else is logged with its
    traceback and answered as one sentence naming what failed."""

    async def on_call_tool(
        self,
        context: MiddlewareContext[CallToolRequestParams],
        call_next: CallNext[CallToolRequestParams, ToolResult],
    ) -> ToolResult:
        try:
            return await call_next(context)
        except (FastMCPError, NotFoundError):
            raise
        except KubeError as error:
            # Raised outside a tool (by the policy or context middleware): already one sentence.
            raise ToolError(str(error)) from None
        except Exception as error:
            name = context.message.name
            log.exception("Tool %s failed unexpectedly", name)
            translated = translate_api_error(error, Target(kind="the cluster", action=f"run {name} against"))
            raise ToolError(str(translated)) from None
