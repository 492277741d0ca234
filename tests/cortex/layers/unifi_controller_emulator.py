"""A local UniFi Network controller that answers the documented API shapes the unifi-api layer uses.

No real controller exists on a test machine, so this reproduces the controller's side of the
protocol: `/api/login` (classic) and `/api/auth/login` (UniFi OS, under `/proxy/network`), the
`unifises`/`TOKEN` session cookie and the CSRF token, the `{"meta": {"rc": ...}, "data": [...]}`
envelope, `api.err.LoginRequired` with HTTP 401 for an expired session, `stat/sta`,
`stat/device`, `cmd/stamgr` (block-sta, unblock-sta) and `cmd/devmgr` (restart).
Test knobs: `expire_sessions()`, `fail_with` (answer every site call with that 5xx) and
`delay_seconds` (answer late, to trip time limits).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def envelope(data: list[Any] | None = None) -> dict[str, Any]:
    return {"meta": {"rc": "ok"}, "data": data or []}


def error_envelope(message: str, status: int) -> JSONResponse:
    return JSONResponse({"meta": {"rc": "error", "msg": message}, "data": []}, status_code=status)


def default_stations() -> dict[str, dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        {
            "mac": "aa:bb:cc:dd:ee:ff",
            "hostname": "laptop-anna",
            "ip": "192.168.1.23",
            "essid": "home",
            "is_wired": False,
            "signal": -52,
            "uptime": 3600,
            "ap_mac": "f0:9f:c2:00:00:02",
        },
        {
            "mac": "3c:22:fb:10:20:30",
            "hostname": "phone-ben",
            "ip": "192.168.1.31",
            "essid": "home",
            "is_wired": False,
            "signal": -67,
            "uptime": 120,
            "ap_mac": "f0:9f:c2:00:00:02",
        },
        {
            "mac": "00:1b:21:aa:00:01",
            "hostname": "nas",
            "ip": "192.168.1.5",
            "is_wired": True,
            "uptime": 864000,
            "sw_mac": "f0:9f:c2:00:00:03",
            "sw_port": 4,
        },
    ]
    return {row["mac"]: {"_id": secrets.token_hex(12), "site_id": "s1", "oui": "Vendor", **row} for row in rows}


def default_devices() -> dict[str, dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        {
            "mac": "f0:9f:c2:00:00:01",
            "name": "gateway",
            "model": "UXG",
            "type": "ugw",
            "ip": "192.168.1.1",
            "version": "4.0.6",
            "state": 1,
            "uptime": 1209600,
            "adopted": True,
        },
        {
            "mac": "f0:9f:c2:00:00:02",
            "name": "ap-living-room",
            "model": "U6LR",
            "type": "uap",
            "ip": "192.168.1.2",
            "version": "6.6.77",
            "state": 1,
            "uptime": 604800,
            "adopted": True,
        },
        {
            "mac": "f0:9f:c2:00:00:03",
            "name": "switch-office",
            "model": "US8P60",
            "type": "usw",
            "ip": "192.168.1.3",
            "version": "6.6.61",
            "state": 1,
            "uptime": 604800,
            "adopted": True,
        },
    ]
    return {row["mac"]: {"_id": secrets.token_hex(12), **row} for row in rows}


@dataclass
class UnifiControllerEmulator:
    """Controller state and test knobs; `app` serves it."""

    username: str = "cortex"
    password: str = "s3cret-pass"
    site: str = "default"
    stations: dict[str, dict[str, Any]] = field(default_factory=default_stations)
    blocked_users: dict[str, dict[str, Any]] = field(default_factory=dict)
    devices: dict[str, dict[str, Any]] = field(default_factory=default_devices)
    sessions: dict[str, str] = field(default_factory=dict)  # session token -> csrf token
    restarted: list[str] = field(default_factory=list)
    logins: int = 0
    fail_with: int | None = None
    delay_seconds: float = 0.0
    requests: list[tuple[str, str]] = field(default_factory=list)

    def expire_sessions(self) -> None:
        self.sessions.clear()

    def reset(self) -> None:
        self.stations = default_stations()
        self.blocked_users.clear()
        self.devices = default_devices()
        self.sessions.clear()
        self.restarted.clear()
        self.requests.clear()
        self.logins = 0
        self.fail_with = None
        self.delay_seconds = 0.0

    # --- login -----------------------------------------------------------------------------------

    async def _credentials_ok(self, request: Request) -> bool:
        try:
            body = await request.json()
        except ValueError:
            return False
        return (
            isinstance(body, dict) and body.get("username") == self.username and body.get("password") == self.password
        )

    async def classic_login(self, request: Request) -> Response:
        self.requests.append(("POST", request.url.path))
        if not await self._credentials_ok(request):
            return error_envelope("api.err.Invalid", 400)
        token, csrf = secrets.token_hex(16), secrets.token_hex(16)
        self.sessions[token] = csrf
        self.logins += 1
        response = JSONResponse(envelope())
        response.set_cookie("unifises", token, path="/", httponly=True)
        response.set_cookie("csrf_token", csrf, path="/")
        return response

    async def unifi_os_login(self, request: Request) -> Response:
        self.requests.append(("POST", request.url.path))
        if not await self._credentials_ok(request):
            return JSONResponse({"code": "AUTHENTICATION_FAILED_INVALID_CREDENTIALS"}, status_code=401)
        token, csrf = secrets.token_hex(16), secrets.token_hex(16)
        self.sessions[token] = csrf
        self.logins += 1
        response = JSONResponse({"unique_id": "u1", "username": self.username})
        response.set_cookie("TOKEN", token, path="/", httponly=True)
        response.headers["X-CSRF-Token"] = csrf
        return response

    # --- site API --------------------------------------------------------------------------------

    def _session_csrf(self, request: Request) -> str | None:
        token = request.cookies.get("unifises") or request.cookies.get("TOKEN")
        return self.sessions.get(token) if token else None

    async def site_api(self, request: Request) -> Response:
        path = request.path_params["path"]
        self.requests.append((request.method, request.url.path))
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        if self.fail_with is not None:
            return Response(
                "<html><body>Service Unavailable</body></html>",
                status_code=self.fail_with,
                media_type="text/html",
            )
        csrf = self._session_csrf(request)
        if csrf is None:
            return error_envelope("api.err.LoginRequired", 401)
        if request.path_params["site"] != self.site:
            return error_envelope("api.err.NoSiteContext", 400)
        if request.method == "POST" and request.headers.get("x-csrf-token") != csrf:
            return error_envelope("api.err.InvalidCSRFToken", 403)
        if request.method == "GET" and path == "stat/sta":
            return JSONResponse(envelope(list(self.stations.values())))
        if request.method == "GET" and path == "stat/device":
            return JSONResponse(envelope(list(self.devices.values())))
        if request.method == "POST" and path in ("cmd/stamgr", "cmd/devmgr"):
            try:
                body = await request.json()
            except ValueError:
                return error_envelope("api.err.InvalidPayload", 400)
            if not isinstance(body, dict):
                return error_envelope("api.err.InvalidPayload", 400)
            if path == "cmd/stamgr":
                return self._stamgr(body)
            return self._devmgr(body)
        return error_envelope("api.err.NotFound", 404)

    def _stamgr(self, body: dict[str, Any]) -> Response:
        command, mac = body.get("cmd"), str(body.get("mac", "")).lower()
        if command not in ("block-sta", "unblock-sta"):
            return error_envelope("api.err.UnknownCommand", 400)
        if not mac:
            return error_envelope("api.err.InvalidPayload", 400)
        blocked = command == "block-sta"
        # The controller keeps a user record per MAC, so blocking an unseen MAC still succeeds.
        user = self.stations.get(mac) or self.blocked_users.setdefault(
            mac, {"_id": secrets.token_hex(12), "mac": mac, "site_id": "s1"}
        )
        user["blocked"] = blocked
        return JSONResponse(envelope([user]))

    def _devmgr(self, body: dict[str, Any]) -> Response:
        command, mac = body.get("cmd"), str(body.get("mac", "")).lower()
        if command != "restart":
            return error_envelope("api.err.UnknownCommand", 400)
        if mac not in self.devices:
            return error_envelope("api.err.UnknownDevice", 400)
        self.restarted.append(mac)
        return JSONResponse(envelope())

    @property
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/login", self.classic_login, methods=["POST"]),
                Route("/api/auth/login", self.unifi_os_login, methods=["POST"]),
                Route("/api/s/{site}/{path:path}", self.site_api, methods=["GET", "POST"]),
                Route("/proxy/network/api/s/{site}/{path:path}", self.site_api, methods=["GET", "POST"]),
            ]
        )
