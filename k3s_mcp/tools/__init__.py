"""Tool modules, one FastMCP server per area; the safety presets and `tool`, which declares a tool's safety once."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from fastmcp import FastMCP
from fastmcp.exceptions import ToolError
from mcp_types import ToolAnnotations

from k3s_mcp.kube.errors import KubeError

# openWorldHint is true throughout: every tool talks to a cluster outside this process.
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
DESTRUCTIVE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True)

# A write whose repetition does something again (a new Job, one more rollback step).
WRITE_AGAIN = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)

# The tag of a tool that runs another tool by name (call_tool): whatever the settings and scopes allow is decided
# for the tool it runs, on that call, so none of them is applied to the dispatcher itself.
DISPATCH_TAG = "dispatch"

F = TypeVar("F", bound=Callable[..., Any])


def safety_tags(safety: ToolAnnotations) -> set[str]:
    """The tags the policy filters on, derived from the tool's one declaration of safety."""
    if safety.read_only_hint:
        return {"read"}
    if safety.destructive_hint:
        return {"write", "destructive"}
    return {"write"}


# The output schema of a tool that answers a ToolResult whose structured content is an object of varying shape.
ANY_OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": True}


def tool(
    server: FastMCP[Any],
    *,
    title: str,
    safety: ToolAnnotations,
    meta: dict[str, Any] | None = None,
    output_schema: dict[str, Any] | None = None,
) -> Callable[[F], F]:
    """Register a tool on `server` with its safety declared once (MCP annotations, and the tags derived from them),
    and the Kubernetes layer's errors worded for the client in one place: a :class:`KubeError` is already one
    sentence for the caller, so it becomes the tool's error as it is. `output_schema` is for a tool that returns a
    ToolResult (whose own annotation says nothing of its structured content)."""
    extra: dict[str, Any] = {"output_schema": output_schema} if output_schema is not None else {}
    register = server.tool(title=title, annotations=safety, tags=safety_tags(safety), meta=meta, **extra)

    def decorate(function: F) -> F:
        @functools.wraps(function)
        async def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return await function(*args, **kwargs)
            except KubeError as error:
                raise ToolError(str(error)) from None

        register(run)
        return function

    return decorate
