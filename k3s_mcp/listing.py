"""Compact tools/list answers (opt-in, K3S_COMPACT_TOOL_SCHEMAS): fewer tokens for every prompt that carries them.

The full listing spends about 40 % of its tokens on output schemas and writes each optional parameter as
``anyOf: [T, null]`` with ``default: null``. The compact listing drops the output schemas and writes an optional
parameter as plain ``T``. Calls are unchanged: arguments are still validated by the tool's own model (null is still
accepted), and answers still carry structured content, which the MCP specification allows without a schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import Tool
from mcp_types import ListToolsRequest

_NULL = {"type": "null"}


def compact_schema(schema: Any) -> Any:
    """``schema`` with every ``anyOf: [T, null]`` (and its ``default: null``) written as ``T``."""
    if isinstance(schema, list):
        return [compact_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    compacted = {key: compact_schema(value) for key, value in schema.items()}
    variants = compacted.get("anyOf")
    if isinstance(variants, list) and len(variants) == 2 and _NULL in variants:
        (other,) = [variant for variant in variants if variant != _NULL]
        if isinstance(other, dict):
            del compacted["anyOf"]
            compacted = {**other, **compacted}
            if "default" in compacted and compacted["default"] is None:
                del compacted["default"]
    return compacted


class CompactToolListingMiddleware(Middleware):
    """Lists each tool without its output schema and with compact optional parameters."""

    async def on_list_tools(
        self,
        context: MiddlewareContext[ListToolsRequest],
        call_next: CallNext[ListToolsRequest, Sequence[Tool]],
    ) -> Sequence[Tool]:
        tools = await call_next(context)
        return [
            tool.model_copy(update={"output_schema": None, "parameters": compact_schema(tool.parameters)})
            for tool in tools
        ]
