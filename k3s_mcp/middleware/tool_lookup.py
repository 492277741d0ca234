"""The tool a call names, looked up in the app once per name instead of by every middleware on every call.

An app lookup asks each of its providers (one per toolset) and runs the transforms, a few tenths of a millisecond
per middleware per call. What the middlewares read of the tool (its tags and annotations) is fixed when the tool
is defined, so the first tool found under a name is kept for that app. Visibility stays FastMCP's: the app looks
the tool up itself to run it, so a tool hidden since it was cached is still refused; a name not found is looked
up again on the next call.
"""

from __future__ import annotations

import weakref
from typing import Any

from fastmcp import FastMCP
from fastmcp.server.middleware import MiddlewareContext
from fastmcp.tools.base import Tool
from mcp_types import CallToolRequestParams

_FOUND: weakref.WeakKeyDictionary[FastMCP[Any], dict[str, Tool]] = weakref.WeakKeyDictionary()


async def called_tool(context: MiddlewareContext[CallToolRequestParams]) -> Tool | None:
    """The tool `context`'s call names in its app (None: no app in the context, or no such tool listed now)."""
    if context.fastmcp_context is None:
        return None
    app = context.fastmcp_context.fastmcp
    name = context.message.name
    found = _FOUND.setdefault(app, {})
    tool = found.get(name)
    if tool is None:
        tool = await app.get_tool(name)
        if tool is not None:
            found[name] = tool
    return tool
