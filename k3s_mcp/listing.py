"""Compact tools/list answers (default; K3S_COMPACT_TOOL_SCHEMAS=false turns them off): fewer tokens per prompt.

The full listing spends about 40 % of its tokens on output schemas and writes each optional parameter as
``anyOf: [T, null]`` with ``default: null``. The compact listing drops the output schemas and writes an optional
parameter as plain ``T``. The ``context`` argument that every cluster tool takes is listed as a bare string: the
server instructions explain it once instead of on 73 tools (13 % of the compact listing). Calls are unchanged:
arguments are still validated by the tool's own model (null is still accepted), and answers still carry
structured content, which the MCP specification allows without a schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import Tool
from mcp_types import ListToolsRequest

from k3s_mcp.contexts import CONTEXT_ARGUMENT

_NULL = {"type": "null"}
_BARE_CONTEXT = {"type": "string"}


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


def compact_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
    """A tool's input schema in compact form: plain optional parameters and a bare ``context``."""
    compacted: dict[str, Any] = compact_schema(parameters)
    properties = compacted.get("properties")
    if isinstance(properties, dict) and CONTEXT_ARGUMENT in properties:
        properties[CONTEXT_ARGUMENT] = dict(_BARE_CONTEXT)
    return compacted


class CompactToolListingMiddleware(Middleware):
    """Lists each tool without its output schema and with compact parameters."""

    async def on_list_tools(
        self,
        context: MiddlewareContext[ListToolsRequest],
        call_next: CallNext[ListToolsRequest, Sequence[Tool]],
    ) -> Sequence[Tool]:
        tools = await call_next(context)
        return [
            tool.model_copy(update={"output_schema": None, "parameters": compact_parameters(tool.parameters)})
            for tool in tools
        ]
