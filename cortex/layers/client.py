"""How the activator calls the layers: HTTP or in-process clients, failover API -> SSH, outcome events."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from pydantic import ValidationError

from cortex.layers import names
from cortex.layers.contract import ErrorBody, LayerRequest, LayerResponse
from cortex.layers.service import LayerRunner
from cortex.layers.settings import LayerClientSettings
from cortex.layers.telemetry import OutcomeEvent, Result, TelemetryStore

logger = logging.getLogger(__name__)

DEFAULT_FAILOVER: Mapping[str, str] = names.FAILOVER


def layer_urls(settings: LayerClientSettings) -> dict[str, str | None]:
    """The configured base URL of each execution layer (None where CORTEX_LAYERS_<NAME>_URL is unset)."""
    return {
        names.K3S: settings.k3s_url,
        names.UNIFI_API: settings.unifi_api_url,
        names.UNIFI_SSH: settings.unifi_ssh_url,
    }


def failure(layer: str, action: str, code: str, message: str, status: int) -> LayerResponse:
    """A LayerResponse for a call that never got an answer from the layer."""
    return LayerResponse(
        ok=False, status=status, layer=layer, action=action, error=ErrorBody(code=code, message=message)
    )


_REFUSAL_LENGTH = 300


def refusal_sentence(body: Any) -> str | None:
    """The sentence a layer's guard answered with (`{"error": "..."}`: a 421 Host, 403 Origin, 401 token, 415 or
    413 body refusal), printable and cut to a readable length; None when the body holds none."""
    if not isinstance(body, dict):
        return None
    said = body.get("error")
    if isinstance(said, dict):
        said = said.get("message")
    if not isinstance(said, str) or not said.strip():
        return None
    text = "".join(ch if ch.isprintable() else " " for ch in said).strip()
    return text if len(text) <= _REFUSAL_LENGTH else text[:_REFUSAL_LENGTH] + "..."


def timed_out(layer: str, action: str, seconds: float) -> LayerResponse:
    return failure(layer, action, "layer_timeout", f"layer {layer} did not answer {action} within {seconds:g} s", 504)


class LayerClient(Protocol):
    """Something that runs a LayerRequest on one named layer and always returns a LayerResponse."""

    name: str

    async def execute(self, request: LayerRequest) -> LayerResponse: ...

    async def aclose(self) -> None: ...


class HttpLayerClient:
    """Calls a layer service over HTTP; timeouts and unreachable layers come back as 504 and 503 responses."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = name
        self.timeout = timeout
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )

    async def execute(self, request: LayerRequest) -> LayerResponse:
        try:
            # asyncio.timeout bounds the whole exchange; httpx's own timeout is per read.
            async with asyncio.timeout(self.timeout):
                response = await self._http.post("/v1/execute", json=request.model_dump(mode="json"))
        except (TimeoutError, httpx.TimeoutException):
            return timed_out(self.name, request.action, self.timeout)
        except httpx.HTTPError as exc:
            return failure(
                self.name,
                request.action,
                "layer_unreachable",
                f"cannot reach layer {self.name} at {self._http.base_url}: {type(exc).__name__}: {exc}",
                503,
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        try:
            return LayerResponse.model_validate(body)
        except ValidationError:
            said = refusal_sentence(body)
            return failure(
                self.name,
                request.action,
                "bad_layer_response" if said is None else "layer_refused",
                f"layer {self.name} answered HTTP {response.status_code}"
                + (f": {said}" if said else " without a layer response body"),
                response.status_code if response.status_code >= 400 else 502,
            )

    async def actions(self) -> list[dict[str, Any]]:
        """The actions the layer offers (its /v1/actions)."""
        response = await self._http.get("/v1/actions")
        response.raise_for_status()
        actions = response.json().get("actions", [])
        return actions if isinstance(actions, list) else []

    async def aclose(self) -> None:
        await self._http.aclose()


class InProcessLayerClient:
    """Runs requests on a layer in this process, with the same time limit semantics as the HTTP client."""

    def __init__(self, runner: LayerRunner, *, timeout: float = 10.0) -> None:
        self.runner = runner
        self.name = runner.layer.name
        self.timeout = timeout

    async def execute(self, request: LayerRequest) -> LayerResponse:
        try:
            async with asyncio.timeout(self.timeout):
                return await self.runner.execute(request)
        except TimeoutError:
            return timed_out(self.name, request.action, self.timeout)

    async def aclose(self) -> None:
        await self.runner.stop()


class TelemetrySink(Protocol):
    """Where outcome events go."""

    async def send(self, event: OutcomeEvent) -> bool: ...


class HttpTelemetryClient:
    """Posts outcome events to cortex-telemetry; a slow or absent telemetry service never fails a request."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 1.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )
        self.timeout = timeout
        self.dropped = 0

    async def send(self, event: OutcomeEvent) -> bool:
        try:
            async with asyncio.timeout(self.timeout):
                response = await self._http.post("/v1/events", json=event.model_dump(mode="json"))
            if response.status_code == 202:
                return True
            logger.warning("telemetry refused an event: HTTP %s %s", response.status_code, response.text[:200])
        except (TimeoutError, httpx.HTTPError) as exc:
            logger.warning("telemetry unreachable, event dropped: %s", exc)
        self.dropped += 1
        return False

    async def aclose(self) -> None:
        await self._http.aclose()


class InProcessTelemetry:
    """Records outcome events straight into a TelemetryStore in this process."""

    def __init__(self, store: TelemetryStore) -> None:
        self.store = store

    async def send(self, event: OutcomeEvent) -> bool:
        await self.store.record([event])
        return True


@dataclass(frozen=True)
class LayerCall:
    """One action the activator wants run: which layer, which action, with which parameters."""

    layer: str
    action: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DispatchResult:
    """The final answer, and when a failover layer gave it, the first layer's error."""

    response: LayerResponse
    failover_from: str | None = None
    first_error: ErrorBody | None = None

    @property
    def ok(self) -> bool:
        return self.response.ok


def outcome_result(response: LayerResponse) -> Result:
    """The telemetry result label of a response."""
    if response.ok:
        return "ok"
    if response.error is not None and response.error.code == "confirmation_required":
        return "confirmation_required"
    if response.status == 504:
        return "timeout"
    if 400 <= response.status < 500:
        return "rejected"
    return "error"


class LayerDispatcher:
    """Sends LayerCalls to layers, fails over on 5xx or timeout, and reports every outcome to telemetry."""

    def __init__(
        self,
        clients: Mapping[str, LayerClient],
        *,
        failover: Mapping[str, str] = DEFAULT_FAILOVER,
        telemetry: TelemetrySink | None = None,
    ) -> None:
        self.clients = dict(clients)
        self.failover = dict(failover)
        self.telemetry = telemetry

    @classmethod
    def from_settings(cls, settings: LayerClientSettings | None = None) -> LayerDispatcher:
        """A dispatcher over HTTP to every layer whose URL is configured."""
        config = settings or LayerClientSettings()
        token = config.token.get_secret_value() if config.token else None
        clients: dict[str, LayerClient] = {
            name: HttpLayerClient(name, url, token=token, timeout=config.timeout_seconds)
            for name, url in layer_urls(config).items()
            if url
        }
        telemetry = (
            HttpTelemetryClient(config.telemetry_url, token=token, timeout=config.telemetry_timeout_seconds)
            if config.telemetry_url
            else None
        )
        return cls(clients, telemetry=telemetry)

    async def dispatch(
        self,
        call: LayerCall,
        *,
        confirm: bool = False,
        actor: str = "anonymous",
        text: str | None = None,
        route: str | None = None,
        tier: str | None = None,
        confidence: float | None = None,
        request_id: str | None = None,
    ) -> DispatchResult:
        """Run `call`, failing over when its layer answers 5xx or times out and a partner layer exists."""
        started = time.perf_counter()
        request_id = request_id or uuid.uuid4().hex
        try:
            request = LayerRequest(
                action=call.action, params=call.params, confirm=confirm, actor=actor, request_id=request_id
            )
        except ValidationError as exc:
            result = DispatchResult(
                failure(
                    call.layer,
                    call.action[:64],
                    "invalid_request",
                    f"invalid call: {exc.errors()[0]['msg']}",
                    400,
                )
            )
            return result
        result = await self._run_with_failover(call.layer, request)
        if self.telemetry is not None:
            event = OutcomeEvent(
                request_id=request_id,
                actor=actor,
                text=text,
                route=route,
                tier=tier,
                confidence=confidence,
                layer=result.response.layer or call.layer,
                action=call.action,
                params=call.params,
                result=outcome_result(result.response),
                error_code=result.response.error.code if result.response.error else None,
                failover_from=result.failover_from,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
            )
            await self.telemetry.send(event)
        return result

    async def _run_with_failover(self, layer: str, request: LayerRequest) -> DispatchResult:
        client = self.clients.get(layer)
        if client is None:
            known = ", ".join(sorted(self.clients)) or "none"
            return DispatchResult(
                failure(
                    layer,
                    request.action,
                    "unknown_layer",
                    f"no layer {layer!r} is configured; known: {known}",
                    404,
                )
            )
        first = await client.execute(request)
        partner_name = self.failover.get(layer)
        partner = self.clients.get(partner_name) if partner_name else None
        if first.ok or first.status < 500 or partner is None:
            return DispatchResult(first)
        logger.warning(
            "layer %s failed %s (%s); failing over to %s",
            layer,
            request.action,
            first.error.code if first.error else first.status,
            partner.name,
        )
        second = await partner.execute(request)
        if second.error is not None and second.error.code == "unknown_action":
            # The partner cannot do this action (SSH only reads): the first layer's error is the real answer.
            return DispatchResult(first)
        return DispatchResult(second, failover_from=layer, first_error=first.error)

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()
        if isinstance(self.telemetry, HttpTelemetryClient):
            await self.telemetry.aclose()
