"""The execution-k3s layer: every k3s_mcp tool as an action, run through the shared MCP session."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from fastmcp import FastMCP
from pydantic import BaseModel

from cortex.layers import names
from cortex.layers.contract import ActionSpec, ExecutionLayer, LayerError
from cortex.layers.settings import K3sLayerSettings
from cortex.mcp_adapter import (
    CONFIRM_ARGUMENT,
    McpSession,
    McpTargetError,
    McpUnavailable,
    load_mcp_target,
    tool_needs_confirmation,
    tool_parameters,
    tool_safety,
)

logger = logging.getLogger(__name__)


class K3sLayer(ExecutionLayer):
    """Offers every k3s_mcp tool as an action; destructive tools need confirmation."""

    name = names.K3S

    def __init__(self, settings: K3sLayerSettings | None = None, server: FastMCP[Any] | str | None = None) -> None:
        self.settings = settings or K3sLayerSettings()
        self._server = server
        self._session: McpSession | None = None
        self._specs: dict[str, ActionSpec] | None = None
        self._takes_confirm: set[str] = set()
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        async with self._lock:
            if self._session is not None:
                return
            try:
                server = self._server if self._server is not None else load_mcp_target(self.settings.mcp_target)
            except McpTargetError as exc:
                raise LayerError("not_configured", str(exc), 503) from None
            session = McpSession(server, self.settings.call_timeout_seconds)
            try:
                await session.start()
                tools = await session.list_tools()
            except McpUnavailable as exc:
                await session.stop()
                raise LayerError.unavailable(f"cannot open the k3s_mcp server: {exc}") from None
            self._specs = {
                tool.name: ActionSpec(
                    name=tool.name,
                    description=(tool.description or tool.title or tool.name).strip().split("\n\n")[0],
                    params_schema=tool.input_schema,
                    read_only=tool_safety(tool.annotations).read_only,
                    requires_confirmation=tool_needs_confirmation(tool),
                )
                for tool in tools
            }
            self._takes_confirm = {tool.name for tool in tools if CONFIRM_ARGUMENT in tool_parameters(tool)}
            self._session = session

    async def stop(self) -> None:
        async with self._lock:
            if self._session is not None:
                session, self._session = self._session, None
                await session.stop()

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
        assert self._session is not None
        arguments = dict(params.model_dump() if isinstance(params, BaseModel) else params)
        if action in self._takes_confirm:
            # The runner only gets here for such a tool once the caller confirmed; k3s_mcp's own
            # confirmation policy then needs that consent as its `confirm` argument.
            arguments[CONFIRM_ARGUMENT] = True
        try:
            outcome = await self._session.call(action, arguments)
        except McpUnavailable as exc:
            # The session may be broken (a remote server restarted): open a fresh one on the next call.
            await self.stop()
            raise LayerError.unavailable(f"the k3s_mcp call {action} failed: {exc}") from None
        if not outcome.ok:
            raise LayerError.rejected(outcome.error or f"{action} failed")
        # A layer's result is always an object; a tool that answers only text is wrapped.
        return outcome.structured if outcome.structured is not None else {"text": outcome.text}
