"""The tool surface, decided once when the server is built: which tools are listed and what each one's schema says.

Read-only mode and K3S_ALLOW_DESTRUCTIVE hide tools; every cluster tool gains the optional `context` parameter;
tools the confirmation policy covers gain `confirm`; and the compact listing (the default) drops output schemas
and writes optional parameters as plain types. All of that depends only on the settings and the tool, so
:class:`ToolSurface`, a FastMCP transform, works it out once per tool and serves the same objects to every
`tools/list` after that. Calls are unchanged: arguments are still validated by the tool's own model, and the
middleware (:mod:`k3s_mcp.middleware`) strips `context`/`confirm` and refuses hidden tools by name.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from fastmcp.server.transforms import Transform
from fastmcp.tools.base import Tool

from k3s_mcp.confirmation import CONFIRM_ARGUMENT, CONFIRM_PARAMETER_SCHEMA, ConfirmationPolicy
from k3s_mcp.contexts import CONTEXT_ARGUMENT, CONTEXT_FREE_META, CONTEXT_PARAMETER_SCHEMA
from k3s_mcp.settings import Settings

_NULL = {"type": "null"}
# Compact listings write `context` bare: the server instructions explain it once instead of on 73 tools.
_BARE_CONTEXT = {"type": "string"}


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


def with_parameter(tool: Tool, name: str, schema: dict[str, Any]) -> Tool:
    """A copy of `tool` whose input schema also takes the optional parameter `name`."""
    if name in (tool.parameters.get("properties") or {}):
        return tool
    parameters = copy.deepcopy(tool.parameters)
    parameters.setdefault("properties", {})[name] = dict(schema)
    return tool.model_copy(update={"parameters": parameters})


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


class ToolSurface(Transform):
    """Lists each allowed tool as the settings shape it, computed once per tool."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.policy = ConfirmationPolicy.from_settings(settings)
        self._listed: dict[str, Tool | None] = {}

    def shaped(self, tool: Tool) -> Tool | None:
        """The tool as listed, or None when the settings hide it."""
        if tool_refusal(tool, self.settings) is not None:
            return None
        if not (tool.meta and tool.meta.get(CONTEXT_FREE_META)):
            tool = with_parameter(tool, CONTEXT_ARGUMENT, CONTEXT_PARAMETER_SCHEMA)
        if self.policy.covers(tool):
            tool = with_parameter(tool, CONFIRM_ARGUMENT, CONFIRM_PARAMETER_SCHEMA)
        if self.settings.compact_tool_schemas:
            tool = tool.model_copy(update={"output_schema": None, "parameters": compact_parameters(tool.parameters)})
        return tool

    async def list_tools(self, tools: Sequence[Tool]) -> Sequence[Tool]:
        listed = []
        for tool in tools:
            # The tool set of an app is fixed when it is built, so a tool's key names one shape for good.
            if tool.key not in self._listed:
                self._listed[tool.key] = self.shaped(tool)
            shaped = self._listed[tool.key]
            if shaped is not None:
                listed.append(shaped)
        return listed
