"""Redacts secret-shaped text in every tool answer and error (K3S_REDACT); the shapes are in views.redaction."""

from __future__ import annotations

from fastmcp.exceptions import FastMCPError
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import InputRequiredToolResult, ToolResult
from mcp_types import CallToolRequestParams

from k3s_mcp.views.redaction import redact_error, redact_result


class RedactionMiddleware(Middleware):
    """Redacts secret-shaped text in every tool answer and error; outermost, so it sees the final answer.
    `reveal_secrets` (K3S_REVEAL_SECRETS) leaves the data of Secret objects alone, as the operator asked."""

    def __init__(self, *, reveal_secrets: bool = False) -> None:
        self.reveal_secrets = reveal_secrets

    async def on_call_tool(
        self,
        context: MiddlewareContext[CallToolRequestParams],
        call_next: CallNext[CallToolRequestParams, ToolResult],
    ) -> ToolResult:
        try:
            result = await call_next(context)
        except FastMCPError as error:
            redacted = redact_error(error)
            if redacted is None:
                raise
            raise redacted from None
        if isinstance(result, InputRequiredToolResult):
            return result
        return redact_result(result, reveal_secrets=self.reveal_secrets)
