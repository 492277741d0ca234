"""The HTTP service around an execution layer: /health, /ready, /metrics, /v1/actions, /v1/execute."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cortex.layers.contract import ErrorBody, ExecutionLayer, LayerError, LayerRequest, LayerResponse
from cortex.layers.settings import LayerServiceSettings

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 256_000


def describe_validation_error(error: ValidationError) -> str:
    """One line per wrong field, naming the field and what is wrong with it."""
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "body"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


class LayerMetrics:
    """Prometheus metrics of one layer, in a registry of its own so several layers can share a process."""

    def __init__(self, layer: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "cortex_layer_requests",
            "Actions requested from this layer, by action and outcome code.",
            ["layer", "action", "outcome"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "cortex_layer_request_duration_seconds",
            "Time to run one action, by action.",
            ["layer", "action"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.ready = Gauge(
            "cortex_layer_ready",
            "1 when the layer reported ready at the last probe.",
            ["layer"],
            registry=self.registry,
        )
        self.layer = layer

    def observe(self, action: str, outcome: str, seconds: float) -> None:
        self.requests.labels(self.layer, action, outcome).inc()
        self.duration.labels(self.layer, action).observe(seconds)


class LayerRunner:
    """Runs requests against one layer: validation, confirmation, time limit, metrics, error translation.

    The HTTP app and in-process callers both go through `execute`, so they behave the same.
    """

    def __init__(self, layer: ExecutionLayer, settings: LayerServiceSettings | None = None) -> None:
        self.layer = layer
        self.settings = settings or LayerServiceSettings()
        self.metrics = LayerMetrics(layer.name)
        layer.register_metrics(self.metrics.registry)
        self._started = False
        self._start_lock = asyncio.Lock()

    async def start(self) -> None:
        async with self._start_lock:
            if not self._started:
                await self.layer.start()
                self._started = True

    async def stop(self) -> None:
        async with self._start_lock:
            if self._started:
                await self.layer.stop()
                self._started = False

    async def readiness(self) -> tuple[bool, str]:
        try:
            ready, reason = await asyncio.wait_for(self.layer.readiness(), self.settings.action_timeout_seconds)
        except TimeoutError:
            ready, reason = False, "readiness check timed out"
        except Exception as exc:  # a probe must answer, whatever the upstream does
            logger.warning("readiness check of %s failed: %s", self.layer.name, exc)
            ready, reason = False, f"readiness check failed: {type(exc).__name__}"
        self.metrics.ready.labels(self.layer.name).set(1 if ready else 0)
        return ready, reason

    async def execute(self, request: LayerRequest) -> LayerResponse:
        started = time.perf_counter()
        try:
            result = await self._execute(request)
        except LayerError as exc:
            return self._finish(request, started, error=exc)
        except Exception:
            logger.exception("layer %s action %s failed unexpectedly", self.layer.name, request.action)
            return self._finish(
                request,
                started,
                error=LayerError(
                    "internal_error",
                    f"{self.layer.name} failed to run {request.action}; the layer log has the details",
                    500,
                ),
            )
        return self._finish(request, started, result=result)

    async def _execute(self, request: LayerRequest) -> Any:
        await self.start()
        specs = await self.layer.action_specs()
        spec = specs.get(request.action)
        if spec is None:
            known = ", ".join(sorted(specs)) or "none"
            raise LayerError(
                "unknown_action",
                f"{self.layer.name} has no action {request.action!r}; it offers: {known}",
                404,
            )
        params: BaseModel | dict[str, Any]
        if spec.params_model is not None:
            try:
                params = spec.params_model.model_validate(request.params)
            except ValidationError as exc:
                raise LayerError.invalid(
                    f"{request.action}: invalid parameters: {describe_validation_error(exc)}"
                ) from None
        else:
            params = request.params
        if spec.requires_confirmation and not request.confirm:
            raise LayerError(
                "confirmation_required",
                f"{request.action} changes the system and cannot be undone by this layer; "
                "send it again with confirm=true to run it",
                428,
            )
        try:
            async with asyncio.timeout(self.settings.action_timeout_seconds):
                return await self.layer.run(request.action, params)
        except TimeoutError:
            raise LayerError.timeout(
                f"{self.layer.name} did not finish {request.action} within {self.settings.action_timeout_seconds:g} s"
            ) from None

    def _finish(
        self, request: LayerRequest, started: float, *, result: Any = None, error: LayerError | None = None
    ) -> LayerResponse:
        seconds = time.perf_counter() - started
        # Unknown names come from callers; keeping them out of the labels bounds the metric's cardinality.
        action_label = "unknown" if error is not None and error.code == "unknown_action" else request.action
        self.metrics.observe(action_label, error.code if error else "ok", seconds)
        return LayerResponse(
            ok=error is None,
            status=error.status if error else 200,
            layer=self.layer.name,
            action=request.action,
            result=result,
            error=ErrorBody(code=error.code, message=error.message) if error else None,
            duration_ms=round(seconds * 1000, 3),
            request_id=request.request_id,
        )


def error_response(layer: str, code: str, message: str, status: int, action: str = "") -> JSONResponse:
    body = LayerResponse(
        ok=False, status=status, layer=layer, action=action, error=ErrorBody(code=code, message=message)
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=status)


Handler = Callable[[Request], Awaitable[Response]]


def require_token(token: str | None, layer: str, handler: Handler) -> Handler:
    """Wrap a handler so it answers 401 unless the request carries the bearer token (when one is set)."""
    if not token:
        return handler
    expected = f"Bearer {token}".encode()

    async def guarded(request: Request) -> Response:
        presented = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(presented, expected):
            return error_response(layer, "unauthorized", "missing or wrong bearer token", 401)
        return await handler(request)

    return guarded


async def read_json_body(request: Request) -> Any:
    """The request's JSON body, or LayerError 400/413 with a reason."""
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise LayerError("too_large", f"request body is over {MAX_BODY_BYTES} bytes", 413)
    try:
        return json.loads(body or b"null")
    except ValueError as exc:
        raise LayerError.invalid(f"request body is not valid JSON: {exc}") from None


def build_layer_app(runner: LayerRunner) -> Starlette:
    """The Starlette app serving one layer; its lifespan starts and stops the layer."""
    name = runner.layer.name

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok", "layer": name})

    async def ready(_: Request) -> Response:
        is_ready, reason = await runner.readiness()
        return JSONResponse({"ready": is_ready, "layer": name, "reason": reason}, status_code=200 if is_ready else 503)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(runner.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def actions(_: Request) -> Response:
        try:
            await runner.start()
            specs = await runner.layer.action_specs()
        except LayerError as exc:
            return error_response(name, exc.code, exc.message, exc.status)
        return JSONResponse({"layer": name, "actions": [spec.describe() for spec in specs.values()]})

    async def execute(request: Request) -> Response:
        try:
            payload = await read_json_body(request)
            layer_request = LayerRequest.model_validate(payload)
        except LayerError as exc:
            return error_response(name, exc.code, exc.message, exc.status)
        except ValidationError as exc:
            return error_response(name, "invalid_request", describe_validation_error(exc), 400)
        response = await runner.execute(layer_request)
        return JSONResponse(response.model_dump(mode="json"), status_code=response.status)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            await runner.start()
        except Exception as exc:
            # Start lazily on the first request instead: a layer whose upstream is down must still
            # answer /health and report not-ready, not crash-loop.
            logger.warning("layer %s did not start yet: %s", name, exc)
        try:
            yield
        finally:
            await runner.stop()

    token = runner.settings.token.get_secret_value() if runner.settings.token else None
    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/v1/actions", require_token(token, name, actions), methods=["GET"]),
        Route("/v1/execute", require_token(token, name, execute), methods=["POST"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
