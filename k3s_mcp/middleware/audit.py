"""Records every tool call: one audit line (K3S_AUDIT_LOG, see k3s_mcp.audit) and the call metrics (k3s_mcp.metrics).

It is the outermost middleware, so it sees each call as the client does: refusals of the policy and confirmation
middleware, errors as the error shield and argument wording raise them, and the time the whole server spent,
redaction and table rendering included. It writes no answer text, only the call's arguments, which it redacts
itself (always, whatever K3S_REDACT says: the log outlives the answer).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from fastmcp.exceptions import NotFoundError, ValidationError
from fastmcp.server.dependencies import get_access_token, get_http_request
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import InputRequiredToolResult, ToolResult
from mcp_types import CallToolRequestParams, GetPromptRequestParams, ReadResourceRequestParams
from pydantic import ValidationError as PydanticValidationError

from k3s_mcp.audit import AuditEvent, AuditLog, RefusedCall
from k3s_mcp.kube import InvalidNameError, KubeconfigError, UnknownKindError, observe_api_failures
from k3s_mcp.kube.errors import api_failure_label
from k3s_mcp.metrics import ServerMetrics

OK = "ok"
ERROR = "error"
REFUSED = "refused"
NEEDS_CONFIRMATION = "needs_confirmation"
CANCELLED = "cancelled"
UNKNOWN_TOOL = "(unknown)"
STDIO_CALLER = "stdio"
READ_RESOURCE = "resources/read"
GET_PROMPT = "prompts/get"
_Result = TypeVar("_Result")
ANONYMOUS_CALLER = "anonymous"

_STATUS_CLASSES = {"404": "not_found", "401": "forbidden", "403": "forbidden", "400": "invalid", "422": "invalid"}
_STATUS_CLASSES |= {"409": "conflict", "unreachable": "unreachable"}
# How the refusing middleware word a refusal: policy (k3s_mcp.surface, middleware/policy.py), OAuth scopes
# (middleware/scopes.py), impersonation without a caller (middleware/identity.py) and a declined confirmation
# (middleware/confirmation.py). A middleware may raise k3s_mcp.audit.RefusedCall instead.
_REFUSAL = re.compile(
    r"^Tool '[^']*' (?:is disabled: |needs the OAuth scope )|^Refused: |^Not run: .* was not confirmed", re.S
)
_NEEDS_CONFIRMATION = "Needs confirmation: "
# Worded errors whose cause was not kept (KubeError from the request builder, a tool's own checks).
_WORDED_CLASSES = (
    (re.compile(r"^Invalid argument|^Invalid |^Bad request"), "invalid"),
    (re.compile(r" not found\b|^Unknown tool"), "not_found"),
    (re.compile(r"^Forbidden|^Unauthorized|^The API server refused"), "forbidden"),
    (re.compile(r"^Cannot reach|did not answer in time|^No Kubernetes session"), "unreachable"),
    (re.compile(r"^Conflict"), "conflict"),
)


def _chain(error: BaseException) -> Iterator[BaseException]:
    """`error` and what caused it, following raise-from and the exception being handled (kept under `from None`)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def failure_outcome(error: BaseException) -> tuple[str, str | None]:
    """(outcome, error class) of a call that raised `error`."""
    message = str(error)
    if isinstance(error, RefusedCall) or _REFUSAL.search(message):
        return REFUSED, None
    if message.startswith(_NEEDS_CONFIRMATION):
        return NEEDS_CONFIRMATION, None
    for cause in _chain(error):
        label = api_failure_label(cause)
        if label is not None:
            return ERROR, _STATUS_CLASSES.get(label, "other")
        if isinstance(cause, ValidationError | PydanticValidationError | InvalidNameError | UnknownKindError):
            return ERROR, "invalid"
        if isinstance(cause, KubeconfigError):
            return ERROR, "unreachable"
        if isinstance(cause, NotFoundError):
            return ERROR, "not_found"
    for pattern, error_class in _WORDED_CLASSES:
        if pattern.search(message):
            return ERROR, error_class
    return ERROR, "other"


def call_caller() -> dict[str, str | None]:
    """Who made the current call: the verified token's client id and subject over HTTP, `anonymous` over HTTP without
    a token (a loopback server), `stdio` when there is no HTTP request (stdio, in-process clients)."""
    try:
        request = get_http_request()
    except RuntimeError:
        return {"client_id": STDIO_CALLER, "subject": None, "transport": "stdio"}
    token = get_access_token()
    subject = token.claims.get("sub") if token is not None else None
    return {
        "client_id": token.client_id if token is not None else ANONYMOUS_CALLER,
        "subject": str(subject) if subject is not None else None,
        "transport": "http",
        "address": request.client.host if request.client else None,
    }


class AuditMiddleware(Middleware):
    """Times and classifies every tool call, counts it in `metrics` and writes it to `audit_log` (None: no log)."""

    def __init__(self, metrics: ServerMetrics, audit_log: AuditLog | None) -> None:
        self.metrics = metrics
        self.audit_log = audit_log

    async def on_call_tool(
        self,
        context: MiddlewareContext[CallToolRequestParams],
        call_next: CallNext[CallToolRequestParams, ToolResult],
    ) -> ToolResult:
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        outcome, error_class = OK, None
        self.metrics.tool_calls_in_flight.inc()
        try:
            with observe_api_failures(self.metrics.count_api_failure):
                result = await call_next(context)
            if isinstance(result, InputRequiredToolResult):
                outcome = NEEDS_CONFIRMATION
            return result
        except asyncio.CancelledError:
            outcome = CANCELLED
            raise
        except Exception as error:
            outcome, error_class = failure_outcome(error)
            raise
        finally:
            duration = time.perf_counter() - started
            self.metrics.tool_calls_in_flight.dec()
            name = context.message.name
            label = UNKNOWN_TOOL if error_class == "not_found" and await self._unknown(context) else name
            self.metrics.tool_calls.labels(tool=label, outcome=outcome, error=error_class or "").inc()
            self.metrics.tool_call_duration.labels(tool=label).observe(duration)
            if self.audit_log is not None:
                event = AuditEvent(
                    time=started_at,
                    caller=call_caller(),
                    tool=name,
                    arguments=dict(context.message.arguments or {}),
                    outcome=outcome,
                    error=error_class,
                    duration_seconds=duration,
                )
                self.audit_log.record(event)

    @staticmethod
    async def _unknown(context: MiddlewareContext[CallToolRequestParams]) -> bool:
        """Whether the called name is no tool of this app: such names are one metrics label, not one each."""
        if context.fastmcp_context is None:
            return True
        return await context.fastmcp_context.fastmcp.get_tool(context.message.name) is None

    async def on_read_resource(
        self,
        context: MiddlewareContext[ReadResourceRequestParams],
        call_next: CallNext[ReadResourceRequestParams, Any],
    ) -> Any:
        """A resource read is one audit line like a tool call: `tool` is ``resources/read``, the URI its argument."""
        return await self._audited(READ_RESOURCE, {"uri": str(context.message.uri)}, call_next(context))

    async def on_get_prompt(
        self,
        context: MiddlewareContext[GetPromptRequestParams],
        call_next: CallNext[GetPromptRequestParams, Any],
    ) -> Any:
        """A prompt is one audit line: `tool` is ``prompts/get``, its arguments the prompt's name and arguments."""
        arguments = {"prompt": context.message.name, **(context.message.arguments or {})}
        return await self._audited(GET_PROMPT, arguments, call_next(context))

    async def _audited(self, method: str, arguments: Mapping[str, Any], call: Awaitable[_Result]) -> _Result:
        """Await `call` and write its audit line (tool metrics count tool calls only)."""
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        outcome, error_class = OK, None
        try:
            return await call
        except asyncio.CancelledError:
            outcome = CANCELLED
            raise
        except Exception as error:
            outcome, error_class = failure_outcome(error)
            raise
        finally:
            if self.audit_log is not None:
                event = AuditEvent(
                    time=started_at,
                    caller=call_caller(),
                    tool=method,
                    arguments=dict(arguments),
                    outcome=outcome,
                    error=error_class,
                    duration_seconds=time.perf_counter() - started,
                )
                self.audit_log.record(event)
