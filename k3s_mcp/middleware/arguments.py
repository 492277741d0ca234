"""Words FastMCP's argument validation errors as one sentence for every tool (wording in views.arguments)."""

from __future__ import annotations

from fastmcp.exceptions import ValidationError
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import ToolResult
from mcp_types import CallToolRequestParams
from pydantic import ValidationError as PydanticValidationError

from k3s_mcp.views.arguments import UNKNOWN_ARGUMENT_TYPES, argument_error_message


class ArgumentErrorMiddleware(Middleware):
    """Words FastMCP's argument validation errors (pydantic's multi-line dump) as one sentence, for every tool."""

    def __init__(self, *, redact_values: bool = True) -> None:
        self.redact_values = redact_values

    async def _parameters(self, context: MiddlewareContext[CallToolRequestParams]) -> list[str]:
        if context.fastmcp_context is None:
            return []
        tool = await context.fastmcp_context.fastmcp.get_tool(context.message.name)
        return list((tool.parameters.get("properties") or {}) if tool is not None else [])

    async def on_call_tool(
        self,
        context: MiddlewareContext[CallToolRequestParams],
        call_next: CallNext[CallToolRequestParams, ToolResult],
    ) -> ToolResult:
        try:
            return await call_next(context)
        except ValidationError as error:
            cause = error.__cause__
            if not isinstance(cause, PydanticValidationError):
                raise
            pydantic_error = cause
        except PydanticValidationError as error:
            pydantic_error = error
        arguments = context.message.arguments or {}
        unknown = any(detail["type"] in UNKNOWN_ARGUMENT_TYPES for detail in pydantic_error.errors(include_url=False))
        parameters = await self._parameters(context) if unknown else []
        message = argument_error_message(
            pydantic_error, arguments, parameters=parameters, redact_values=self.redact_values
        )
        raise ValidationError(message) from None
