"""The activator's HTTP service: POST /query, POST /feedback, /health, /ready, /metrics and /openapi.json.

POST /query and /feedback take only `Content-Type: application/json` bodies (so a cross-site form or text/plain
post cannot reach them) and, when CORTEX_API_TOKEN is set, only requests carrying `Authorization: Bearer <token>`.
`served_app` adds the Host/Origin guard and refuses a non-loopback address without a token.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from cortex.activator.api import FeedbackRequest, QueryRequest, QueryResponse
from cortex.activator.decisions import FeedbackRefused, UnknownDecision
from cortex.activator.learning import MemoryUnavailable
from cortex.activator.service import Activator
from cortex.activator.settings import ActivatorSettings
from cortex.activator.tiers.unifi_rules import UnifiRequestError
from cortex.activator.wake import LayerWaking
from cortex.http_body import BodyTooLarge, bounded_body
from k3s_mcp.bind_rules import UnsafeBindError, is_loopback
from k3s_mcp.http_origin import HostOriginGuard, HostPolicy

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 64 * 1024
JSON_TYPE = "application/json"
_JSON_TYPES = {
    "bool_type": "a JSON boolean (true or false)",
    "string_type": "a JSON string",
    "int_type": "a JSON integer",
    "float_type": "a JSON number",
}


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def api_token(settings: ActivatorSettings) -> str | None:
    """The bearer token /query and /feedback require, or None when CORTEX_API_TOKEN is unset or blank."""
    token = settings.api_token.get_secret_value().strip() if settings.api_token else ""
    return token or None


def _unauthorized(request: Request, token: str | None) -> JSONResponse | None:
    """A 401 when the API token is set and the request does not carry it (compared in constant time)."""
    if token is None:
        return None
    given = request.headers.getlist("authorization")
    scheme, _, credentials = given[0].partition(" ") if len(given) == 1 else ("", "", "")
    if scheme.lower() == "bearer" and credentials.strip():
        if hmac.compare_digest(credentials.strip().encode(), token.encode()):
            return None
        return _error(401, "the bearer token is not valid", {"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return _error(401, "this endpoint needs 'Authorization: Bearer <CORTEX_API_TOKEN>'", {"WWW-Authenticate": "Bearer"})


def _problem(error: ErrorDetails) -> str:
    """One validation problem in words: which field, and what it must be."""
    where = ".".join(map(str, error["loc"])) or "the body"
    kind = error["type"]
    if kind == "missing":
        return f"{where} is required"
    if kind == "extra_forbidden":
        return f"{where} is not a field of this request"
    if kind in _JSON_TYPES:
        shown = json.dumps(error.get("input"))
        shown = shown if len(shown) <= 40 else shown[:40] + "..."
        return f"{where} must be {_JSON_TYPES[kind]}, not {shown}"
    return f"{where}: {error['msg'][0].lower()}{error['msg'][1:]}"


async def _body(request: Request, model: type[BaseModel]) -> BaseModel | JSONResponse:
    content_types = request.headers.getlist("content-type")
    media_type = content_types[0].split(";", 1)[0].strip().lower() if len(content_types) == 1 else ""
    if media_type != JSON_TYPE:
        shown = json.dumps(content_types[0][:60]) if len(content_types) == 1 else "missing"
        return _error(415, f"the request body must be sent as Content-Type: {JSON_TYPE} (got {shown})")
    try:
        raw = await bounded_body(request, MAX_BODY_BYTES)
    except BodyTooLarge:
        return _error(413, f"request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(raw or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error(400, "request body is not valid JSON")
    except RecursionError:
        return _error(400, "request body is not valid JSON: it is nested too deeply")
    if not isinstance(data, dict):
        return _error(400, "request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        return _error(422, f"invalid request: {'; '.join(_problem(e) for e in exc.errors())}")


def openapi_document() -> dict[str, Any]:
    def body(model: type[BaseModel]) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}

    def answer(description: str, model: type[BaseModel] | None = None) -> dict[str, Any]:
        content = {"application/json": {"schema": model.model_json_schema()}} if model else {}
        return {"description": description, **({"content": content} if content else {})}

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Cortex activator",
            "version": "0.1.0",
            "description": "Routes plain-language operations requests to k3s_mcp tools through four tiers.",
        },
        "paths": {
            "/query": {
                "post": {
                    "summary": "Route a request and run the chosen tool when it is safe",
                    "requestBody": body(QueryRequest),
                    "responses": {
                        "200": answer("The decision, and the tool's result when it ran.", QueryResponse),
                        "400": answer(
                            "The body is not a JSON object, or a network request names no valid MAC address."
                        ),
                        "401": answer("CORTEX_API_TOKEN is set and the request does not carry it as a bearer token."),
                        "415": answer("The body is not sent as Content-Type: application/json."),
                        "422": answer("A field is missing, unknown or of the wrong JSON type."),
                        "503": answer("A scaled-to-zero layer is waking; retry after Retry-After seconds."),
                    },
                }
            },
            "/feedback": {
                "post": {
                    "summary": "Confirm or reject the tool one /query decision chose (once per decision)",
                    "requestBody": body(FeedbackRequest),
                    "responses": {
                        "200": answer("Stored."),
                        "401": answer("CORTEX_API_TOKEN is set and the request does not carry it as a bearer token."),
                        "404": answer("No recent decision has this decision_id; nothing was changed."),
                        "409": answer(
                            "Feedback for this decision was given already, the decision chose no learnable tool, "
                            "or `tool` is not the tool it chose."
                        ),
                        "415": answer("The body is not sent as Content-Type: application/json."),
                        "422": answer("A field is missing, unknown or of the wrong JSON type."),
                        "503": answer("The route memory is unavailable; retry after Retry-After seconds."),
                    },
                }
            },
            "/health": {"get": {"summary": "Liveness", "responses": {"200": answer("Alive.")}}},
            "/ready": {
                "get": {
                    "summary": "Readiness: tools loaded and rules compiled",
                    "responses": {"200": answer("Ready."), "503": answer("Starting.")},
                }
            },
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": answer("Metrics.")}}},
        },
    }


def create_app(settings: ActivatorSettings, activator: Activator | None = None) -> Starlette:
    """The Starlette app; the activator starts in the app's lifespan unless one is passed in started."""
    owned = activator is None
    service = activator or Activator(settings)
    token = api_token(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if owned:
            await service.start()
        try:
            yield
        finally:
            if owned:
                await service.stop()

    async def query(request: Request) -> Response:
        refused = _unauthorized(request, token)
        if refused is not None:
            return refused
        parsed = await _body(request, QueryRequest)
        if isinstance(parsed, JSONResponse):
            return parsed
        assert isinstance(parsed, QueryRequest)
        if not service.ready:
            return _error(503, "the activator is still starting", {"Retry-After": "5"})
        try:
            response = await service.handle(parsed)
        except LayerWaking as exc:
            return _error(503, str(exc), {"Retry-After": str(exc.retry_after)})
        except UnifiRequestError as exc:
            return _error(400, f"cannot run this network request: {exc}")
        except Exception:
            log.exception("query failed")
            return _error(500, "internal error while routing the request; see the activator's log")
        return JSONResponse(response.model_dump(mode="json"))

    async def feedback(request: Request) -> Response:
        refused = _unauthorized(request, token)
        if refused is not None:
            return refused
        parsed = await _body(request, FeedbackRequest)
        if isinstance(parsed, JSONResponse):
            return parsed
        assert isinstance(parsed, FeedbackRequest)
        try:
            return JSONResponse(await service.feedback(parsed))
        except UnknownDecision as exc:
            return _error(404, str(exc))
        except FeedbackRefused as exc:
            return _error(409, str(exc))
        except MemoryUnavailable as exc:
            return _error(503, str(exc), {"Retry-After": str(settings.retry_after_seconds)})
        except Exception:
            log.exception("feedback failed")
            return _error(500, "internal error while storing the feedback; see the activator's log")

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(request: Request) -> Response:
        body = {
            "ready": service.ready,
            "tools": len(service.catalog),
            "catalog": service.catalog.source,
            "similarity": service.similarity_ready,
            "problems": service.problems,
        }
        return JSONResponse(body, status_code=200 if service.ready else 503)

    async def metrics(request: Request) -> Response:
        return Response(service.metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")

    async def openapi(request: Request) -> Response:
        return JSONResponse(openapi_document())

    return Starlette(
        routes=[
            Route("/query", query, methods=["POST"]),
            Route("/feedback", feedback, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/ready", ready, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def served_app(settings: ActivatorSettings, host: str) -> ASGIApp:
    """The app `cortex serve` runs on `host`: behind the Host/Origin guard, and only with a token off loopback.

    Raises UnsafeBindError for a non-loopback `host` without CORTEX_API_TOKEN and HostPolicyError for a bad
    CORTEX_ALLOWED_HOSTS / CORTEX_ALLOWED_ORIGINS entry.
    """
    if api_token(settings) is None and not is_loopback(host):
        raise UnsafeBindError(
            f"Refusing to serve on {host!r} without a token: anyone who can reach that address could run tools "
            "through the activator. Set CORTEX_API_TOKEN to a long random secret (clients send it as "
            "'Authorization: Bearer <token>'), or listen on 127.0.0.1."
        )
    policy = HostPolicy.build(
        host,
        settings.allowed_hosts,
        settings.allowed_origins,
        hosts_setting="CORTEX_ALLOWED_HOSTS",
        origins_setting="CORTEX_ALLOWED_ORIGINS",
    )
    return HostOriginGuard(create_app(settings), policy)
