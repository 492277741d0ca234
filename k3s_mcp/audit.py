"""The audit log: one JSON line per tool call, written by a thread so that no call ever waits for the disk.

What a line holds (``k3s_mcp.middleware.audit`` builds the :class:`AuditEvent`)::

    {"time": "2026-12-01T22:10:03.123Z", "caller": {"client_id": "k3s-mcp-token", "subject": null,
     "transport": "http", "address": "10.42.0.7"}, "tool": "delete_secret",
     "arguments": {"name": "db", "namespace": "shop"}, "target": {"name": "db", "namespace": "shop"},
     "outcome": "error", "error": "not_found", "duration_ms": 4.2}

Arguments are shaped before they are written: the values of a Secret tool's ``string_data``/``data`` are dropped
(keys only), ``manifest_yaml`` (which may hold a Secret) becomes its size and SHA-256, other long text is summarised
the same way, and everything left passes :func:`k3s_mcp.views.redaction.redact_structured`, so tokens, keys and
passwords given as arguments are markers in the log. The shaping runs in the writer thread, off the event loop.

:class:`AuditLog` puts each event on a bounded queue and returns at once; when the writer is that far behind (a full
disk, a pipe nobody reads) the event is dropped and counted, never waited for. The destination is K3S_AUDIT_LOG: a
file (rotated by size, K3S_AUDIT_MAX_BYTES and K3S_AUDIT_BACKUPS) or stderr; never stdout, which carries the MCP
protocol on stdio.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import logging.handlers
import queue
import secrets
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastmcp.exceptions import ToolError

from k3s_mcp.views.redaction import redact, redact_structured

STDERR_DESTINATIONS = frozenset({"-", "stderr"})
HIDDEN = "(hidden)"
# Arguments of the Secret tools whose values are the secret itself: only their keys are written.
SECRET_DATA_ARGUMENTS = frozenset({"string_data", "data"})
# Arguments written as size and digest only: a manifest may hold a Secret's data in any encoding.
DIGESTED_ARGUMENTS = frozenset({"manifest_yaml"})
MAX_ARGUMENT_TEXT = 1_000
MAX_TOOL_NAME = 100
TARGET_NAME_ARGUMENTS = ("name", "release", "cronjob")
# How long the writer waits before trying again to open a destination it could not open.
REOPEN_SECONDS = 10.0

log = logging.getLogger(__name__)


class RefusedCall(ToolError):
    """A call the server's configuration refuses (read-only, disabled tool, missing scope): the audit log and the
    metrics count it as `refused` rather than as an error. Middleware that refuses calls may raise it."""


@dataclass(frozen=True)
class AuditEvent:
    """One finished tool call, as the middleware saw it; :func:`audit_line` shapes and redacts it."""

    time: datetime
    caller: Mapping[str, str | None]
    tool: str
    arguments: Mapping[str, Any]
    outcome: str
    error: str | None
    duration_seconds: float


def rfc3339(moment: datetime) -> str:
    """`moment` in UTC as RFC 3339 with milliseconds and a `Z`."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# A plain hash of a short Secret manifest could be matched offline against guessed passwords; a key made at start
# keeps equal manifests recognisable within one process and nothing more.
_DIGEST_KEY = secrets.token_bytes(32)


def _digest(text: str) -> dict[str, Any]:
    data = text.encode("utf-8", "replace")
    return {"bytes": len(data), "hmac_sha256": hmac.new(_DIGEST_KEY, data, hashlib.sha256).hexdigest()}


def audit_arguments(tool: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """`arguments` as the audit log writes them: Secret data as keys only, manifests and long text as size and
    keyed digest, and secret-shaped strings anywhere replaced by redaction markers."""
    secret_tool = "secret" in tool
    shaped: dict[str, Any] = {}
    secret_data: dict[str, Any] = {}
    for key, value in arguments.items():
        if secret_tool and key in SECRET_DATA_ARGUMENTS:
            keys = {redact(str(name))[0]: HIDDEN for name in value} if isinstance(value, dict) else None
            secret_data[key] = keys if keys is not None else HIDDEN
        elif isinstance(value, str) and (key in DIGESTED_ARGUMENTS or len(value) > MAX_ARGUMENT_TEXT):
            shaped[key] = _digest(value)
        else:
            shaped[key] = value
    redacted, _ = redact_structured(shaped)
    # Written after redaction, which would take the "(hidden)" under a key like `password` for a secret.
    return {key: secret_data.get(key, redacted.get(key)) for key in arguments}


def audit_target(arguments: Mapping[str, Any]) -> dict[str, str] | None:
    """The object a call names through its kind, name (or release, cronjob) and namespace arguments."""
    target: dict[str, str] = {}
    for field, names in (("kind", ("kind",)), ("name", TARGET_NAME_ARGUMENTS), ("namespace", ("namespace",))):
        value = next((arguments[name] for name in names if isinstance(arguments.get(name), str)), None)
        if value:
            target[field] = value[:253]
    return target or None


def audit_line(event: AuditEvent) -> str:
    """The JSON line of one call (no newline)."""
    arguments = audit_arguments(event.tool, event.arguments)
    record = {
        "time": rfc3339(event.time),
        "caller": dict(event.caller),
        "tool": event.tool[:MAX_TOOL_NAME],
        "arguments": arguments,
        "target": audit_target(arguments),
        "outcome": event.outcome,
        "error": event.error,
        "duration_ms": round(event.duration_seconds * 1000, 3),
    }
    return json.dumps(record, ensure_ascii=False, default=str, separators=(",", ":"))


_STOP = object()


class AuditLog:
    """A bounded queue of audit events drained by one daemon thread into a file (rotated by size) or stderr.

    :meth:`record` never blocks: a full queue drops the event and calls `on_drop`. The thread starts with the first
    event and opens the destination itself, so even an open that hangs (a FIFO without a reader) stays off the
    event loop."""

    def __init__(
        self,
        destination: str,
        *,
        max_bytes: int,
        backups: int,
        queue_size: int,
        on_drop: Callable[[], None],
    ) -> None:
        self.destination = destination
        self.max_bytes = max_bytes
        self.backups = backups
        self.on_drop = on_drop
        self._queue: queue.Queue[AuditEvent | object] = queue.Queue(maxsize=queue_size)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    @property
    def to_stderr(self) -> bool:
        return self.destination.lower() in STDERR_DESTINATIONS

    def record(self, event: AuditEvent) -> None:
        """Queue one event for writing, or count it as dropped when the queue is full."""
        self._ensure_writer()
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.on_drop()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued event is written; False when `timeout` passed first (a stuck destination)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued and stop the writer (the next event starts a new one)."""
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        try:
            self._queue.put(_STOP, timeout=timeout)
        except queue.Full:
            log.warning("Audit log %s is not being written; %d lines are lost", self.destination, self.pending)
            return
        thread.join(timeout)

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def _ensure_writer(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._write_all, name="k3s-mcp-audit", daemon=True)
                self._thread.start()

    def _handler(self) -> logging.Handler:
        if self.to_stderr:
            handler: logging.Handler = logging.StreamHandler(sys.stderr)
        else:
            path = Path(self.destination).expanduser()
            path.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.handlers.RotatingFileHandler(
                path, maxBytes=self.max_bytes, backupCount=self.backups, encoding="utf-8", delay=True
            )
        handler.setFormatter(logging.Formatter("%(message)s"))
        return handler

    def _write_all(self) -> None:
        handler: logging.Handler | None = None
        retry_at = 0.0
        try:
            while True:
                item = self._queue.get()
                try:
                    if item is _STOP:
                        return
                    if not isinstance(item, AuditEvent):
                        continue
                    if handler is None and time.monotonic() >= retry_at:
                        try:
                            handler = self._handler()
                        except OSError as error:
                            # Said once per attempt, not once per call; the lines meanwhile count as dropped.
                            log.error(
                                "Cannot open the audit log %s (%s); retrying in %.0f s",
                                self.destination,
                                error,
                                REOPEN_SECONDS,
                            )
                            retry_at = time.monotonic() + REOPEN_SECONDS
                    if handler is None:
                        self.on_drop()
                        continue
                    handler.handle(logging.makeLogRecord({"msg": audit_line(item), "levelno": logging.INFO}))
                except Exception:
                    log.exception("Could not write an audit line to %s", self.destination)
                finally:
                    self._queue.task_done()
        finally:
            if handler is not None:
                handler.close()
