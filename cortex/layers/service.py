"""The HTTP service around an execution layer: /health, /ready, /metrics, /v1/actions, /v1/execute.

`served_layer_app` is what a layer process puts on a socket (execution layers and telemetry alike): the Host/Origin
guard of the other HTTP servers (421 for a Host that does not name the layer, 403 for a foreign Origin), then 415
for a POST body that is not `Content-Type: application/json`, so neither a rebound page nor a cross-site form or
text/plain post reaches /v1/*. `layer_host_policy` refuses a non-loopback address without CORTEX_LAYER_TOKEN.
"""

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
from starlette.types import ASGIApp, Receive, Scope, Send

from cortex.http_body import BodyTooLarge, bounded_body
from cortex.layers.contract import ErrorBody, ExecutionLayer, LayerError, LayerRequest, LayerResponse
from cortex.layers.settings import LayerServiceSettings
from k3s_mcp.bind_rules import UnsafeBindError, is_loopback
from k3s_mcp.http_origin import HostOriginGuard, HostPolicy

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 256_000
JSON_TYPE = "application/json"


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


def layer_token(settings: LayerServiceSettings) -> str | None:
    """The bearer token /v1/* requires, or None when CORTEX_LAYER_TOKEN is unset or blank."""
    token = settings.token.get_secret_value().strip() if settings.token else ""
    return token or None


def require_token(token: str | None, layer: str, handler: Handler) -> Handler:
    """Wrap a handler so it answers 401 unless the request carries the bearer token (when one is set)."""
    token = (token or "").strip()
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
    try:
        body = await bounded_body(request, MAX_BODY_BYTES)
    except BodyTooLarge as error:
        raise LayerError("too_large", str(error), 413) from None
    try:
        return json.loads(body or b"null")
    except ValueError as exc:
        raise LayerError.invalid(f"request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise LayerError.invalid("request body is not valid JSON: it is nested too deeply") from None


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

    token = layer_token(runner.settings)
    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/v1/actions", require_token(token, name, actions), methods=["GET"]),
        Route("/v1/execute", require_token(token, name, execute), methods=["POST"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def _media_type_problem(scope: Scope) -> str | None:
    """Why a POST's Content-Type is refused, or None when the body is declared as JSON (any case, any parameters)."""
    given = [value.decode("latin-1") for name, value in scope.get("headers") or () if name == b"content-type"]
    if len(given) == 1 and given[0].split(";", 1)[0].strip().lower() == JSON_TYPE:
        return None
    shown = json.dumps(given[0][:60]) if len(given) == 1 else "more than one" if given else "none"
    return f"the request body must be sent as Content-Type: {JSON_TYPE} (got {shown})"


class JsonBodiesOnly:
    """ASGI middleware: 415 for a POST whose body is not declared `Content-Type: application/json`.

    A page can send text/plain, form and multipart bodies to any address without the browser asking first; a JSON
    body it can only send after a CORS preflight, which a layer never answers.
    """

    def __init__(self, app: ASGIApp, layer: str) -> None:
        self.app = app
        self.layer = layer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "POST":
            problem = _media_type_problem(scope)
            if problem is not None:
                response = error_response(self.layer, "unsupported_media_type", problem, 415)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def layer_host_policy(settings: LayerServiceSettings, host: str) -> HostPolicy:
    """The Host/Origin policy of a layer listening on `host`, from CORTEX_LAYER_ALLOWED_HOSTS / _ORIGINS.

    Raises UnsafeBindError for a non-loopback `host` without CORTEX_LAYER_TOKEN, and HostPolicyError for an
    allowed-hosts or allowed-origins entry that is not a host or an origin.
    """
    if layer_token(settings) is None and not is_loopback(host):
        raise UnsafeBindError(
            f"Refusing to serve a layer on {host!r} without a token: anyone who can reach that address could run "
            "its actions or read its audit log. Set CORTEX_LAYER_TOKEN to a long random secret (the activator "
            "sends it from CORTEX_LAYERS_TOKEN), or listen on 127.0.0.1."
        )
    return HostPolicy.build(
        host,
        settings.allowed_hosts,
        settings.allowed_origins,
        hosts_setting="CORTEX_LAYER_ALLOWED_HOSTS",
        origins_setting="CORTEX_LAYER_ALLOWED_ORIGINS",
    )


def served_layer_app(app: ASGIApp, layer: str, policy: HostPolicy) -> ASGIApp:
    """`app` as a layer process serves it: the Host/Origin guard first, then JSON-only POST bodies."""
    return HostOriginGuard(JsonBodiesOnly(app, layer), policy)
