"""The execution-k3s layer: runs k3s_mcp tools through an MCP client, in-process or over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import Mapping
from typing import Any

from fastmcp import Client, FastMCP
from fastmcp.exceptions import ToolError
from mcp import types as mcp_types
from pydantic import BaseModel

from cortex.layers.contract import ActionSpec, ExecutionLayer, LayerError
from cortex.layers.settings import K3sLayerSettings

logger = logging.getLogger(__name__)


def load_mcp_target(target: str) -> FastMCP | str:
    """The FastMCP server named by `module:attribute`, or the URL itself when `target` is one."""
    if target.startswith(("http://", "https://")):
        return target
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise LayerError(
            "not_configured", f"CORTEX_K3S_MCP_TARGET {target!r} is neither module:attribute nor a URL", 503
        )
    try:
        server = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise LayerError("not_configured", f"cannot load the MCP server {target!r}: {exc}", 503) from None
    if not isinstance(server, FastMCP):
        raise LayerError("not_configured", f"{target!r} is a {type(server).__name__}, not a FastMCP server", 503)
    return server


def tool_needs_confirmation(tool: mcp_types.Tool) -> bool:
    """Whether a tool is destructive: its destructiveHint says so, or the server tagged it `destructive`."""
    annotations = tool.annotations
    if annotations is not None and annotations.destructive_hint is True and annotations.read_only_hint is not True:
        return True
    fastmcp_meta = (tool.meta or {}).get("fastmcp") if isinstance(tool.meta, dict) else None
    tags = fastmcp_meta.get("tags", []) if isinstance(fastmcp_meta, dict) else []
    return "destructive" in tags


def tool_is_read_only(tool: mcp_types.Tool) -> bool:
    return tool.annotations is not None and tool.annotations.read_only_hint is True


def result_payload(result: Any) -> Any:
    """The JSON-ready result of a tool call: its structured content, else its text blocks."""
    if result.structured_content is not None:
        content = result.structured_content
        # FastMCP wraps non-object results as {"result": ...}.
        if isinstance(content, dict) and set(content) == {"result"}:
            return content["result"]
        return content
    texts = [block.text for block in result.content if isinstance(block, mcp_types.TextContent)]
    return {"text": "\n".join(texts)}


class K3sLayer(ExecutionLayer):
    """Offers every k3s_mcp tool as an action; destructive tools need confirmation."""

    name = "k3s"

    def __init__(self, settings: K3sLayerSettings | None = None, server: FastMCP | str | None = None) -> None:
        self.settings = settings or K3sLayerSettings()
        self._server = server
        self._client: Client[Any] | None = None
        self._exit_stack: contextlib.AsyncExitStack | None = None
        self._specs: dict[str, ActionSpec] | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        async with self._lock:
            if self._client is not None:
                return
            server = self._server if self._server is not None else load_mcp_target(self.settings.mcp_target)
            client: Client[Any] = Client(server, timeout=self.settings.call_timeout_seconds)
            stack = contextlib.AsyncExitStack()
            try:
                await stack.enter_async_context(client)
                tools = await client.list_tools()
            except Exception as exc:
                await stack.aclose()
                raise LayerError.unavailable(f"cannot open the k3s_mcp server: {exc}") from None
            self._specs = {
                tool.name: ActionSpec(
                    name=tool.name,
                    description=(tool.description or tool.title or tool.name).strip().split("\n\n")[0],
                    params_schema=tool.input_schema,
                    read_only=tool_is_read_only(tool),
                    requires_confirmation=tool_needs_confirmation(tool),
                )
                for tool in tools
            }
            self._client = client
            self._exit_stack = stack

    async def stop(self) -> None:
        async with self._lock:
            if self._exit_stack is not None:
                stack, self._exit_stack, self._client = self._exit_stack, None, None
                await stack.aclose()

    async def action_specs(self) -> Mapping[str, ActionSpec]:
        await self.start()
        return self._specs or {}

    async def readiness(self) -> tuple[bool, str]:
        try:
            await self.start()
        except LayerError as exc:
            return False, exc.message
        return True, f"{len(self._specs or {})} k3s_mcp tools available"

    async def run(self, action: str, params: BaseModel | dict[str, Any]) -> Any:
        await self.start()
        assert self._client is not None
        arguments = params.model_dump() if isinstance(params, BaseModel) else params
        try:
            result = await self._client.call_tool(action, arguments, raise_on_error=False)
        except ToolError as exc:
            raise LayerError.rejected(str(exc)) from None
        except Exception as exc:
            # The session may be broken (a remote server restarted): open a fresh one on the next call.
            await self.stop()
            raise LayerError.unavailable(f"the k3s_mcp call {action} failed: {exc}") from None
        if result.is_error:
            texts = [b.text for b in result.content if isinstance(b, mcp_types.TextContent)]
            raise LayerError.rejected("\n".join(texts) or f"{action} failed")
        return result_payload(result)


def main(argv: list[str] | None = None) -> int:
    """Serve execution-k3s over HTTP."""
    from cortex.layers.cli import main as layer_main

    return layer_main(["k3s", *(argv or [])])
