"""The cortex-telemetry layer: outcome events in; Prometheus metrics, an audit log and a training set out."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter as CountingDict
from collections import deque
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cortex.http_body import BodyTooLarge, bounded_body
from cortex.layers import names
from cortex.layers.service import MAX_BODY_BYTES, describe_validation_error, require_token
from cortex.layers.settings import LayerServiceSettings, TelemetrySettings

logger = logging.getLogger(__name__)

LABEL_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
SECRET_PARAM_WORDS = ("password", "passwd", "secret", "token", "key", "credential")

Result = Literal["ok", "error", "rejected", "confirmation_required", "timeout"]


class OutcomeEvent(BaseModel):
    """What happened to one request: who asked what, which route and layer took it, and how it ended."""

    model_config = ConfigDict(extra="forbid")

    ts: datetime = Field(default_factory=lambda: datetime.now(UTC))
    request_id: str | None = Field(default=None, max_length=100)
    actor: str = Field(default="anonymous", min_length=1, max_length=200, description="Who asked.")
    text: str | None = Field(default=None, max_length=4000, description="The request as the person wrote it.")
    route: str | None = Field(default=None, pattern=LABEL_PATTERN, description="Route the activator chose.")
    tier: str | None = Field(default=None, pattern=LABEL_PATTERN, description="Activator tier that decided.")
    confidence: float | None = Field(default=None, ge=0, le=1)
    layer: str = Field(pattern=LABEL_PATTERN, description="Layer that answered.")
    action: str = Field(pattern=LABEL_PATTERN)
    params: dict[str, Any] = Field(default_factory=dict)
    result: Result
    error_code: str | None = Field(default=None, max_length=64)
    failover_from: str | None = Field(default=None, pattern=LABEL_PATTERN)
    duration_ms: float | None = Field(default=None, ge=0)
    learned: bool = Field(
        default=False,
        description="The activator learned this text -> route pairing (for example from a slow tier or a "
        "correction); learned pairs go to the training set even before an action succeeds.",
    )


def masked_params(params: dict[str, Any]) -> dict[str, Any]:
    """`params` with values of secret-looking keys replaced, so the audit log never holds a credential."""
    return {
        key: "***" if any(word in key.lower() for word in SECRET_PARAM_WORDS) else value
        for key, value in params.items()
    }


class TelemetryMetrics:
    """The Prometheus metrics derived from outcome events."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.outcomes = Counter(
            "cortex_outcomes",
            "Requests the activator finished, by layer, action and result.",
            ["layer", "action", "result"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "cortex_outcome_duration_seconds",
            "End-to-end time of a request as the activator measured it.",
            ["layer"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.failovers = Counter(
            "cortex_failovers",
            "Requests a failover layer answered, by the layer that failed and the one that answered.",
            ["from_layer", "to_layer"],
            registry=self.registry,
        )
        self.routes_learned = Counter(
            "cortex_routes_learned",
            "Text -> route pairings the activator reported as learned.",
            ["route"],
            registry=self.registry,
        )
        self.rejected_events = Counter(
            "cortex_telemetry_rejected_events",
            "Events refused because they did not match the schema.",
            registry=self.registry,
        )

    def record(self, event: OutcomeEvent) -> None:
        self.outcomes.labels(event.layer, event.action, event.result).inc()
        if event.duration_ms is not None:
            self.duration.labels(event.layer).observe(event.duration_ms / 1000)
        if event.failover_from:
            self.failovers.labels(event.failover_from, event.layer).inc()
        if event.learned and event.route:
            self.routes_learned.labels(event.route).inc()


class TelemetryStore:
    """Holds the audit trail: recent events in memory, every event appended to the JSONL audit log."""

    def __init__(self, settings: TelemetrySettings | None = None) -> None:
        self.settings = settings or TelemetrySettings()
        self.metrics = TelemetryMetrics()
        self._recent: deque[dict[str, Any]] = deque(maxlen=self.settings.memory_events)
        self._write_lock = asyncio.Lock()
        path = self.settings.audit_log_path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def audit_line(event: OutcomeEvent) -> dict[str, Any]:
        """The audit record of an event: who, what, which layer, the result, and the routing facts."""
        record = event.model_dump(mode="json", exclude_none=True)
        record["params"] = masked_params(event.params)
        return record

    async def record(self, events: Iterable[OutcomeEvent]) -> int:
        """Count, keep and append to the audit log each event; returns how many were recorded."""
        batch = list(events)
        lines = [self.audit_line(event) for event in batch]
        for event in batch:
            self.metrics.record(event)
        self._recent.extend(lines)
        path = self.settings.audit_log_path
        if path is not None and lines:
            text = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
            async with self._write_lock:
                await asyncio.to_thread(_append, path, text)
        for line in lines:
            logger.info(
                "audit actor=%s layer=%s action=%s result=%s",
                line.get("actor"),
                line.get("layer"),
                line.get("action"),
                line.get("result"),
            )
        return len(lines)

    def recent(self, limit: int, actor: str | None = None) -> list[dict[str, Any]]:
        """The newest `limit` audit records, newest last, optionally of one actor."""
        matching = [line for line in self._recent if actor is None or line.get("actor") == actor]
        return matching[-limit:]

    def _all_records(self) -> Iterator[dict[str, Any]]:
        path = self.settings.audit_log_path
        if path is None or not path.is_file():
            yield from list(self._recent)
            return
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue  # a torn last line after a crash is not worth failing the export for
                if isinstance(record, dict):
                    yield record

    def training_set(self) -> list[dict[str, Any]]:
        """One labelled example per distinct request text: the route it most often succeeded on.

        A text counts towards a route when its action succeeded on that route or the activator
        reported the pairing as learned; failures say nothing about which route was right.
        """
        votes: dict[str, CountingDict[str]] = {}
        originals: dict[str, str] = {}
        layers: dict[tuple[str, str], tuple[str, str]] = {}
        for record in self._all_records():
            text, route = record.get("text"), record.get("route")
            if not isinstance(text, str) or not isinstance(route, str) or not text.strip():
                continue
            if record.get("result") != "ok" and not record.get("learned"):
                continue
            key = " ".join(text.lower().split())
            votes.setdefault(key, CountingDict())[route] += 1
            originals.setdefault(key, " ".join(text.split()))
            layers[(key, route)] = (str(record.get("layer", "")), str(record.get("action", "")))
        examples = []
        for key, counter in votes.items():
            route, count = counter.most_common(1)[0]
            layer, action = layers[(key, route)]
            examples.append({"text": originals[key], "route": route, "layer": layer, "action": action, "count": count})
        return examples

    async def export_training_set(self, path: Path) -> int:
        """Write the training set as JSONL to `path`; returns how many examples it holds."""
        examples = await asyncio.to_thread(self.training_set)
        text = "".join(json.dumps(example, ensure_ascii=False) + "\n" for example in examples)
        await asyncio.to_thread(path.write_text, text, "utf-8")
        return len(examples)


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()


def _error(code: str, message: str, status: int) -> JSONResponse:
    return JSONResponse({"ok": False, "error": {"code": code, "message": message}}, status_code=status)


def build_telemetry_app(
    store: TelemetryStore | None = None, service_settings: LayerServiceSettings | None = None
) -> Starlette:
    """The Starlette app of cortex-telemetry."""
    telemetry = store or TelemetryStore()
    service = service_settings or LayerServiceSettings()

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok", "layer": names.TELEMETRY})

    async def ready(_: Request) -> Response:
        path = telemetry.settings.audit_log_path
        if path is not None and not path.parent.is_dir():
            return JSONResponse({"ready": False, "reason": f"{path.parent} does not exist"}, status_code=503)
        return JSONResponse({"ready": True, "reason": "accepting events"})

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(telemetry.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def events(request: Request) -> Response:
        try:
            body = await bounded_body(request, MAX_BODY_BYTES * 4)
        except BodyTooLarge as error:
            return _error("too_large", str(error), 413)
        try:
            payload = json.loads(body or b"null")
        except ValueError as exc:
            return _error("invalid_request", f"request body is not valid JSON: {exc}", 400)
        except RecursionError:
            return _error("invalid_request", "request body is not valid JSON: it is nested too deeply", 400)
        items = payload if isinstance(payload, list) else [payload]
        try:
            parsed = [OutcomeEvent.model_validate(item) for item in items]
        except ValidationError as exc:
            telemetry.metrics.rejected_events.inc()
            return _error("invalid_event", describe_validation_error(exc), 400)
        accepted = await telemetry.record(parsed)
        return JSONResponse({"ok": True, "accepted": accepted}, status_code=202)

    async def audit(request: Request) -> Response:
        try:
            limit = int(request.query_params.get("limit", "100"))
        except ValueError:
            return _error("invalid_request", "limit must be a whole number", 400)
        if not 1 <= limit <= 10_000:
            return _error("invalid_request", "limit must be between 1 and 10000", 400)
        return JSONResponse({"records": telemetry.recent(limit, request.query_params.get("actor"))})

    async def training_set(_: Request) -> Response:
        examples = await asyncio.to_thread(telemetry.training_set)
        text = "".join(json.dumps(example, ensure_ascii=False) + "\n" for example in examples)
        return Response(text, media_type="application/x-ndjson")

    token = service.token.get_secret_value() if service.token else None
    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/v1/events", require_token(token, names.TELEMETRY, events), methods=["POST"]),
        Route("/v1/audit", require_token(token, names.TELEMETRY, audit), methods=["GET"]),
        Route("/v1/training-set", require_token(token, names.TELEMETRY, training_set), methods=["GET"]),
    ]
    return Starlette(routes=routes)
