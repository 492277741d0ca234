"""The execution-unifi-api layer: a UniFi Network controller driven over its HTTP API with a session login."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Mapping
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Counter
from pydantic import BaseModel

from cortex.layers import names
from cortex.layers.contract import ActionSpec, ExecutionLayer, LayerError, NoParams
from cortex.layers.settings import UnifiApiSettings
from cortex.layers.unifi_model import (
    MacParams,
    client_row_from_controller,
    device_row_from_controller,
)

logger = logging.getLogger(__name__)

# The controller answers these `meta.msg` values when the session cookie is missing or expired.
SESSION_EXPIRED_MESSAGES = frozenset({"api.err.LoginRequired", "api.err.Unauthorized"})


class UnifiController:
    """A logged-in session with one controller site; logs in lazily and again when the session expires."""

    def __init__(self, settings: UnifiApiSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        verify: ssl.SSLContext | bool = settings.verify_tls
        if settings.verify_tls and settings.ca_file is not None:
            verify = ssl.create_default_context(cafile=str(settings.ca_file))
        self._http = httpx.AsyncClient(
            base_url=settings.controller_url,
            verify=verify,
            timeout=settings.request_timeout_seconds,
            transport=transport,
            headers={"Accept": "application/json"},
        )
        self._csrf_token: str | None = None
        self._logged_in = False
        self._login_lock = asyncio.Lock()
        self.logins: Counter | None = None

    @property
    def _api_prefix(self) -> str:
        prefix = "/proxy/network" if self.settings.controller_kind == "unifi-os" else ""
        return f"{prefix}/api/s/{self.settings.site}"

    @property
    def _login_path(self) -> str:
        return "/api/auth/login" if self.settings.controller_kind == "unifi-os" else "/api/login"

    async def close(self) -> None:
        await self._http.aclose()

    async def login(self, reason: str) -> None:
        """Log in (again); `reason` says why, for the metrics: `initial` or `expired`."""
        password = self.settings.resolved_password()
        if not self.settings.username or not password:
            raise LayerError(
                "not_configured",
                "the UniFi controller username or password is not set "
                "(CORTEX_UNIFI_USERNAME, CORTEX_UNIFI_PASSWORD or CORTEX_UNIFI_PASSWORD_FILE)",
                503,
            )
        self._http.cookies.clear()
        response = await self._send(
            "POST",
            self._login_path,
            {"username": self.settings.username, "password": password, "remember": False},
            what="log in",
        )
        if response.status_code in (400, 401, 403):
            message = _envelope_message(response) or f"HTTP {response.status_code}"
            raise LayerError(
                "login_failed",
                f"the UniFi controller refused the login of {self.settings.username!r}: {message}; "
                "check the username and password",
                502,
            )
        _raise_for_upstream(response, "log in")
        self._csrf_token = response.headers.get("x-csrf-token") or self._http.cookies.get("csrf_token")
        self._logged_in = True
        if self.logins is not None:
            self.logins.labels(reason).inc()

    async def ensure_login(self) -> None:
        async with self._login_lock:
            if not self._logged_in:
                await self.login("initial")

    async def _renew_login(self, stale_csrf: str | None) -> None:
        async with self._login_lock:
            # Another request may have renewed the session while this one waited for the lock.
            if self._logged_in and self._csrf_token != stale_csrf:
                return
            self._logged_in = False
            await self.login("expired")

    async def call(self, method: str, path: str, body: dict[str, Any] | None, what: str) -> list[Any]:
        """`data` of one site API call, renewing the session once if it expired."""
        await self.ensure_login()
        for attempt in (1, 2):
            csrf = self._csrf_token
            response = await self._send(method, f"{self._api_prefix}/{path}", body, what=what)
            if _session_expired(response) and attempt == 1:
                logger.info("UniFi controller session expired; logging in again")
                await self._renew_login(csrf)
                continue
            updated = response.headers.get("x-updated-csrf-token")
            if updated:
                self._csrf_token = updated
            return _envelope_data(response, what)
        raise LayerError(
            "login_failed",
            f"the UniFi controller still asks for a login after logging in again ({what})",
            502,
        )

    async def _send(self, method: str, path: str, body: dict[str, Any] | None, *, what: str) -> httpx.Response:
        headers = {"X-Csrf-Token": self._csrf_token} if self._csrf_token and method != "GET" else {}
        try:
            return await self._http.request(method, path, json=body, headers=headers)
        except httpx.TimeoutException:
            raise LayerError.timeout(
                f"the UniFi controller did not answer within {self.settings.request_timeout_seconds:g} s ({what})"
            ) from None
        except httpx.HTTPError as exc:
            raise LayerError.unavailable(
                f"cannot reach the UniFi controller at {self.settings.controller_url} ({what}): "
                f"{type(exc).__name__}: {exc}"
            ) from None


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _envelope_message(response: httpx.Response) -> str | None:
    body = _json_or_none(response)
    if isinstance(body, dict) and isinstance(body.get("meta"), dict):
        message = body["meta"].get("msg")
        return str(message) if message else None
    return None


def _session_expired(response: httpx.Response) -> bool:
    return response.status_code == 401 or _envelope_message(response) in SESSION_EXPIRED_MESSAGES


def _raise_for_upstream(response: httpx.Response, what: str) -> None:
    if response.status_code >= 500:
        raise LayerError.unavailable(f"the UniFi controller failed with HTTP {response.status_code} ({what})")


def _envelope_data(response: httpx.Response, what: str) -> list[Any]:
    """`data` of a controller envelope, or the LayerError its `meta` or HTTP status calls for."""
    _raise_for_upstream(response, what)
    body = _json_or_none(response)
    if not isinstance(body, dict) or not isinstance(body.get("meta"), dict):
        raise LayerError(
            "bad_upstream_response",
            f"the UniFi controller answered HTTP {response.status_code} without its JSON envelope ({what})",
            502,
        )
    meta = body["meta"]
    if meta.get("rc") != "ok":
        message = meta.get("msg") or "no message"
        raise LayerError.rejected(f"the UniFi controller refused to {what}: {message}")
    data = body.get("data", [])
    return data if isinstance(data, list) else [data]


class UnifiApiLayer(ExecutionLayer):
    """Lists clients and devices, blocks and unblocks clients, restarts devices (with confirmation)."""

    name = names.UNIFI_API

    def __init__(
        self, settings: UnifiApiSettings | None = None, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings or UnifiApiSettings()
        self.controller = UnifiController(self.settings, transport)
        self._specs: dict[str, ActionSpec] = {
            spec.name: spec
            for spec in (
                ActionSpec("list_clients", "Clients connected now (stat/sta).", NoParams),
                ActionSpec("list_devices", "Adopted UniFi devices and their state (stat/device).", NoParams),
                ActionSpec(
                    "block_client",
                    "Block a client by MAC so it cannot join any network (cmd/stamgr block-sta).",
                    MacParams,
                    read_only=False,
                ),
                ActionSpec(
                    "unblock_client",
                    "Let a blocked client join again (cmd/stamgr unblock-sta).",
                    MacParams,
                    read_only=False,
                ),
                ActionSpec(
                    "restart_device",
                    "Restart a UniFi device by MAC; its clients lose service meanwhile (cmd/devmgr restart).",
                    MacParams,
                    read_only=False,
                    requires_confirmation=True,
                ),
            )
        }

    def register_metrics(self, registry: CollectorRegistry) -> None:
        self.controller.logins = Counter(
            "cortex_unifi_logins",
            "Logins to the UniFi controller, by reason (initial or expired session).",
            ["reason"],
            registry=registry,
        )

    async def stop(self) -> None:
        await self.controller.close()

    async def action_specs(self) -> Mapping[str, ActionSpec]:
        return self._specs

    async def readiness(self) -> tuple[bool, str]:
        try:
            await self.controller.ensure_login()
        except LayerError as exc:
            return False, exc.message
        return True, f"logged in to {self.settings.controller_url} site {self.settings.site}"

    async def run(self, action: str, params: BaseModel | dict[str, Any]) -> Any:
        controller = self.controller
        if action == "list_clients":
            data = await controller.call("GET", "stat/sta", None, "list clients")
            rows = [client_row_from_controller(e).model_dump() for e in data if isinstance(e, dict)]
            return {"rows": rows, "count": len(rows)}
        if action == "list_devices":
            data = await controller.call("GET", "stat/device", None, "list devices")
            rows = [device_row_from_controller(e).model_dump() for e in data if isinstance(e, dict)]
            return {"rows": rows, "count": len(rows)}
        if not isinstance(params, MacParams):
            raise LayerError.invalid(f"{action} needs a mac parameter")
        if action in ("block_client", "unblock_client"):
            command = "block-sta" if action == "block_client" else "unblock-sta"
            data = await controller.call(
                "POST", "cmd/stamgr", {"cmd": command, "mac": params.mac}, f"{command} {params.mac}"
            )
            entry = next((e for e in data if isinstance(e, dict)), {})
            return {"mac": params.mac, "blocked": bool(entry.get("blocked", action == "block_client"))}
        if action == "restart_device":
            await controller.call(
                "POST", "cmd/devmgr", {"cmd": "restart", "mac": params.mac}, f"restart device {params.mac}"
            )
            return {"mac": params.mac, "restarting": True}
        raise LayerError("unknown_action", f"{self.name} has no action {action!r}", 404)
