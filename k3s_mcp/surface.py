"""The tool surface, decided once when the server is built: which tools are listed and what each one's schema says.

Read-only mode and K3S_ALLOW_DESTRUCTIVE hide tools; every cluster tool gains the optional `context` parameter;
tools the confirmation policy covers gain `confirm`; and the compact listing (the default) drops output schemas
and writes optional parameters as plain types. All of that depends only on the settings and the tool, so
:class:`ToolSurface`, a FastMCP transform, works it out once per tool and serves the same objects to every
`tools/list` after that. Calls are unchanged: arguments are still validated by the tool's own model, and the
middleware (:mod:`k3s_mcp.middleware`) strips `context`/`confirm` and refuses hidden tools by name.

Under the default preset the listing is also disclosed step by step: a client sees ``LISTED_BY_DEFAULT`` and the
disclosure tools, plus the toolsets it enabled (kept per client: its session, its user, or the process on stdio).
Disclosure only shortens the listing; what a client may call is still decided by the settings alone.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from fastmcp.server.dependencies import get_context
from fastmcp.server.transforms import Transform
from fastmcp.tools.base import Tool

from k3s_mcp.confirmation import CONFIRM_ARGUMENT, CONFIRM_PARAMETER_SCHEMA, ConfirmationPolicy
from k3s_mcp.contexts import CONTEXT_ARGUMENT, CONTEXT_FREE_META, CONTEXT_PARAMETER_SCHEMA
from k3s_mcp.settings import Settings
from k3s_mcp.tools import DISPATCH_TAG
from k3s_mcp.toolsets import LISTED_BY_DEFAULT, discloses, selected_toolsets, toolset_server

# Always listed under disclosure: the tools that name, list and run the rest of the catalog.
DISCLOSURE_TOOLS = ("list_toolsets", "enable_toolset", "call_tool")
# Clients whose enabled toolsets are remembered at once; the oldest is forgotten past this (it lists the default).
_MAX_CLIENTS = 4096

_NULL = {"type": "null"}
# Compact listings write `context` bare: the server instructions explain it once instead of on 73 tools.
_BARE_CONTEXT = {"type": "string"}


def tool_refusal(tool: Tool, settings: Settings) -> str | None:
    """Why the configuration forbids this tool, or None when it is allowed."""
    if DISPATCH_TAG in tool.tags:
        # It only runs other tools, each refused (or not) here by its own name and tags.
        return None
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
    """Lists each allowed tool as the settings shape it, computed once per tool; under disclosure, only the default
    tools and the toolsets each client enabled."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.policy = ConfirmationPolicy.from_settings(settings)
        self.disclosure = discloses(settings.toolsets)
        self.toolsets = selected_toolsets(settings.toolsets)
        self._listed: dict[str, Tool | None] = {}
        self._enabled: dict[str, frozenset[str]] = {}
        self._owners: dict[str, str] | None = None

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

    def shaped_once(self, tool: Tool) -> Tool | None:
        # The tool set of an app is fixed when it is built, so a tool's key names one shape for good.
        if tool.key not in self._listed:
            self._listed[tool.key] = self.shaped(tool)
        return self._listed[tool.key]

    async def catalog(self) -> dict[str, list[Tool]]:
        """Toolset -> its tools as listed, leaving out the ones the settings hide; every loaded toolset is named."""
        found: dict[str, list[Tool]] = {}
        for toolset in self.toolsets:
            tools = [self.shaped_once(tool) for tool in await toolset_server(toolset).list_tools(run_middleware=False)]
            found[toolset] = [tool for tool in tools if tool is not None]
        return found

    async def owners(self) -> dict[str, str]:
        """Tool name -> the toolset it belongs to."""
        if self._owners is None:
            self._owners = {tool.name: toolset for toolset, tools in (await self.catalog()).items() for tool in tools}
        return self._owners

    @staticmethod
    def client_scope() -> str | None:
        """What identifies the calling client from one request to the next (FastMCP's scope of session state: the
        session, the authenticated user, or the process on stdio); None when nothing does."""
        try:
            return get_context()._session_scope_key()
        except (RuntimeError, LookupError, AttributeError):
            return None

    def enabled_toolsets(self, scope: str | None) -> frozenset[str]:
        return self._enabled.get(scope, frozenset()) if scope is not None else frozenset()

    def enable(self, scope: str, toolsets: frozenset[str]) -> frozenset[str]:
        """Add `toolsets` to what this client lists; returns what it lists now."""
        enabled = self._enabled.pop(scope, frozenset()) | toolsets
        self._enabled[scope] = enabled
        while len(self._enabled) > _MAX_CLIENTS:
            del self._enabled[next(iter(self._enabled))]
        return enabled

    async def list_tools(self, tools: Sequence[Tool]) -> Sequence[Tool]:
        listed = [shaped for tool in tools if (shaped := self.shaped_once(tool)) is not None]
        if not self.disclosure:
            return listed
        enabled = self.enabled_toolsets(self.client_scope())
        owners = await self.owners() if enabled else {}
        return [
            tool
            for tool in listed
            if tool.name in LISTED_BY_DEFAULT or tool.name in DISCLOSURE_TOOLS or owners.get(tool.name) in enabled
        ]
