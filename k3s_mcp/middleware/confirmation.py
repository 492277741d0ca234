"""Holds back destructive calls the confirmation policy matches until `confirm=true` or an accepted elicitation.

Works with every client: a held-back call answers "needs confirmation: call again with confirm=true" and
executes nothing; the same call with ``confirm=true`` runs. A client that declares the MCP elicitation
capability is asked instead, and the call runs when the person accepts. The policy itself (what is held back)
is :mod:`k3s_mcp.confirmation`; the `confirm` parameter is added to the listed tools by :mod:`k3s_mcp.surface`.
"""

from __future__ import annotations

import logging
from typing import Any

from fastmcp.exceptions import ToolError
from fastmcp.server.context import Context
from fastmcp.server.elicitation import AcceptedElicitation
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import ToolResult
from mcp_types import CallToolRequestParams, ClientCapabilities, ElicitationCapability

from k3s_mcp.confirmation import CONFIRM_ARGUMENT, CallFacts, ConfirmationPolicy, call_facts
from k3s_mcp.kube import current_session
from k3s_mcp.middleware.tool_lookup import called_tool
from k3s_mcp.views.arguments import invalid_argument

log = logging.getLogger(__name__)


def _describe_call(facts: CallFacts, arguments: dict[str, Any]) -> str:
    shown = ", ".join(f"{key}={value!r}" for key, value in arguments.items())
    return f"{facts.tool}({shown})"


def _supports_elicitation(context: Context | None) -> bool:
    if context is None:
        return False
    try:
        return bool(context.session.check_client_capability(ClientCapabilities(elicitation=ElicitationCapability())))
    except (RuntimeError, AttributeError, ValueError):
        return False


class ConfirmationMiddleware(Middleware):
    """Holds back destructive calls the policy matches until `confirm=true` (or an accepted elicitation)."""

    def __init__(self, policy: ConfirmationPolicy) -> None:
        self.policy = policy

    async def on_call_tool(
        self,
        context: MiddlewareContext[CallToolRequestParams],
        call_next: CallNext[CallToolRequestParams, ToolResult],
    ) -> ToolResult:
        arguments = dict(context.message.arguments or {})
        confirmed = arguments.pop(CONFIRM_ARGUMENT, False)
        if not isinstance(confirmed, bool):
            raise ToolError(invalid_argument(CONFIRM_ARGUMENT, "must be true or false", confirmed))
        message = context.message.model_copy(update={"arguments": arguments})
        context = context.copy(message=message)
        if confirmed or not self.policy.active or context.fastmcp_context is None:
            return await call_next(context)
        tool = await called_tool(context)
        if tool is None or not self.policy.covers(tool):
            return await call_next(context)
        facts = await call_facts(tool, arguments, current_session())
        reason = self.policy.reason(facts)
        if reason is None:
            return await call_next(context)
        described = _describe_call(facts, arguments)
        if _supports_elicitation(context.fastmcp_context):
            try:
                answer = await context.fastmcp_context.elicit(
                    f"Run {described}? It needs confirmation because {reason}.", response_type=["run", "cancel"]
                )
            except ToolError as error:
                # 2026-07-28 connections have no server-initiated requests: fall back to confirm=true.
                log.debug("Elicitation unavailable, asking for confirm=true instead: %s", error)
            else:
                if isinstance(answer, AcceptedElicitation) and answer.data == "run":
                    return await call_next(context)
                raise ToolError(f"Not run: {described} was not confirmed ({answer.action}). Nothing was changed.")
        raise ToolError(
            f"Needs confirmation: {described} was NOT run because {reason}. "
            "Nothing was changed. To run it, call the same tool again with the same arguments and confirm=true."
        )
