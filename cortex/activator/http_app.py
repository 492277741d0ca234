"""The activator's HTTP service: POST /query, POST /feedback, /health, /ready, /metrics and /openapi.json."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cortex.activator.learning import MemoryUnavailable
from cortex.activator.service import Activator, FeedbackRequest, QueryRequest, QueryResponse
from cortex.activator.settings import ActivatorSettings
from cortex.activator.wake import LayerWaking
from cortex.layers.unifi_intents import UnifiRequestError

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 64 * 1024


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def _body(request: Request, model: type[BaseModel]) -> BaseModel | JSONResponse:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        return _error(413, f"request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(raw or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error(400, "request body is not valid JSON")
    if not isinstance(data, dict):
        return _error(400, "request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
        return _error(422, f"invalid request: {problems}")


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
                        "422": answer("A field is missing or invalid."),
                        "503": answer("A scaled-to-zero layer is waking; retry after Retry-After seconds."),
                    },
                }
            },
            "/feedback": {
                "post": {
                    "summary": "Tell the activator whether a tool was right for a request",
                    "requestBody": body(FeedbackRequest),
                    "responses": {"200": answer("Stored."), "422": answer("Invalid body or unknown tool.")},
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
        parsed = await _body(request, FeedbackRequest)
        if isinstance(parsed, JSONResponse):
            return parsed
        assert isinstance(parsed, FeedbackRequest)
        try:
            return JSONResponse(await service.feedback(parsed))
        except ValueError as exc:
            return _error(422, str(exc))
        except MemoryUnavailable as exc:
            return _error(503, str(exc), {"Retry-After": str(settings.retry_after_seconds)})

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
