"""The execution-unifi-api layer against the local controller over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from cortex.layers.contract import LayerRequest
from cortex.layers.service import LayerRunner, build_layer_app
from cortex.layers.settings import LayerServiceSettings, UnifiApiSettings
from cortex.layers.unifi_api import UnifiApiLayer
from tests.cortex.layers.local_server import serve_app
from tests.cortex.layers.unifi_controller_emulator import UnifiControllerEmulator


@pytest.fixture
async def runner(unifi_api_settings: UnifiApiSettings) -> AsyncIterator[LayerRunner]:
    layer_runner = LayerRunner(UnifiApiLayer(unifi_api_settings))
    yield layer_runner
    await layer_runner.stop()


async def test_list_clients_logs_in_once_and_returns_rows(
    runner: LayerRunner, unifi_controller: UnifiControllerEmulator
) -> None:
    first = await runner.execute(LayerRequest(action="list_clients"))
    second = await runner.execute(LayerRequest(action="list_clients"))
    assert first.ok and second.ok, first.error
    assert first.result["count"] == 3
    anna = next(row for row in first.result["rows"] if row["mac"] == "aa:bb:cc:dd:ee:ff")
    assert anna == {
        "mac": "aa:bb:cc:dd:ee:ff",
        "hostname": "laptop-anna",
        "ip": "192.168.1.23",
        "network": "home",
        "wired": False,
        "signal_dbm": -52,
        "uptime_s": 3600,
        "blocked": False,
    }
    assert unifi_controller.logins == 1


async def test_list_devices_maps_state(runner: LayerRunner, unifi_controller: UnifiControllerEmulator) -> None:
    response = await runner.execute(LayerRequest(action="list_devices"))
    assert response.ok, response.error
    by_name = {row["name"]: row for row in response.result["rows"]}
    assert set(by_name) == {"gateway", "ap-living-room", "switch-office"}
    assert by_name["gateway"]["state"] == "connected"
    assert by_name["switch-office"]["type"] == "usw"


async def test_block_and_unblock_client_normalises_the_mac(
    runner: LayerRunner, unifi_controller: UnifiControllerEmulator
) -> None:
    blocked = await runner.execute(LayerRequest(action="block_client", params={"mac": "3C-22-FB-10-20-30"}))
    assert blocked.ok, blocked.error
    assert blocked.result == {"mac": "3c:22:fb:10:20:30", "blocked": True}
    assert unifi_controller.stations["3c:22:fb:10:20:30"]["blocked"] is True
    unblocked = await runner.execute(LayerRequest(action="unblock_client", params={"mac": "3c22.fb10.2030"}))
    assert unblocked.ok and unblocked.result["blocked"] is False
    assert unifi_controller.stations["3c:22:fb:10:20:30"]["blocked"] is False


@pytest.mark.parametrize(
    ("mac", "fragment"),
    [("aa:bb:cc:dd:ee", "not a MAC"), ("ff:ff:ff:ff:ff:ff", "multicast or broadcast"), ("zz", "not a MAC")],
)
async def test_bad_mac_is_refused_before_the_controller_is_called(
    runner: LayerRunner, unifi_controller: UnifiControllerEmulator, mac: str, fragment: str
) -> None:
    response = await runner.execute(LayerRequest(action="block_client", params={"mac": mac}))
    assert response.status == 400
    assert response.error is not None and response.error.code == "invalid_request"
    assert fragment in response.error.message
    assert not [path for _, path in unifi_controller.requests if "cmd/" in path]


async def test_restart_needs_confirmation(runner: LayerRunner, unifi_controller: UnifiControllerEmulator) -> None:
    request = {"action": "restart_device", "params": {"mac": "f0:9f:c2:00:00:02"}}
    refused = await runner.execute(LayerRequest.model_validate(request))
    assert refused.status == 428
    assert refused.error is not None and refused.error.code == "confirmation_required"
    assert unifi_controller.restarted == []
    confirmed = await runner.execute(LayerRequest.model_validate({**request, "confirm": True}))
    assert confirmed.ok, confirmed.error
    assert unifi_controller.restarted == ["f0:9f:c2:00:00:02"]


async def test_controller_error_envelope_becomes_a_clear_rejection(
    runner: LayerRunner, unifi_controller: UnifiControllerEmulator
) -> None:
    response = await runner.execute(
        LayerRequest(action="restart_device", params={"mac": "f0:9f:c2:99:99:99"}, confirm=True)
    )
    assert response.status == 422
    assert response.error is not None
    assert "api.err.UnknownDevice" in response.error.message
    assert unifi_controller.restarted == []


async def test_expired_session_is_renewed_once(runner: LayerRunner, unifi_controller: UnifiControllerEmulator) -> None:
    assert (await runner.execute(LayerRequest(action="list_clients"))).ok
    unifi_controller.expire_sessions()
    response = await runner.execute(LayerRequest(action="block_client", params={"mac": "aa:bb:cc:dd:ee:ff"}))
    assert response.ok, response.error
    assert unifi_controller.logins == 2
    metrics = runner.metrics.registry.get_sample_value("cortex_unifi_logins_total", {"reason": "expired"})
    assert metrics == 1.0


async def test_controller_5xx_is_upstream_unavailable(
    runner: LayerRunner, unifi_controller: UnifiControllerEmulator
) -> None:
    unifi_controller.fail_with = 503
    response = await runner.execute(LayerRequest(action="list_clients"))
    assert response.status == 503
    assert response.error is not None and response.error.code == "upstream_unavailable"
    assert "HTTP 503" in response.error.message


async def test_wrong_password_is_reported_without_leaking_it(
    unifi_api_settings: UnifiApiSettings, unifi_controller: UnifiControllerEmulator
) -> None:
    wrong = unifi_api_settings.model_copy(update={"password": SecretStr("not-the-password")})
    runner = LayerRunner(UnifiApiLayer(wrong))
    response = await runner.execute(LayerRequest(action="list_devices"))
    await runner.stop()
    assert response.status == 502
    assert response.error is not None and response.error.code == "login_failed"
    assert "api.err.Invalid" in response.error.message
    assert "not-the-password" not in response.model_dump_json()
    ready, reason = await LayerRunner(UnifiApiLayer(wrong)).readiness()
    assert not ready and "refused the login" in reason


async def test_password_from_a_secret_file(
    unifi_api_settings: UnifiApiSettings, unifi_controller: UnifiControllerEmulator, tmp_path: Path
) -> None:
    secret = tmp_path / "password"
    secret.write_text(unifi_controller.password + "\n")
    settings = unifi_api_settings.model_copy(update={"password": None, "password_file": secret})
    runner = LayerRunner(UnifiApiLayer(settings))
    response = await runner.execute(LayerRequest(action="list_devices"))
    await runner.stop()
    assert response.ok, response.error


async def test_unifi_os_controller_paths(
    unifi_api_settings: UnifiApiSettings, unifi_controller: UnifiControllerEmulator
) -> None:
    settings = unifi_api_settings.model_copy(update={"controller_kind": "unifi-os"})
    runner = LayerRunner(UnifiApiLayer(settings))
    response = await runner.execute(LayerRequest(action="block_client", params={"mac": "aa:bb:cc:dd:ee:ff"}))
    await runner.stop()
    assert response.ok, response.error
    assert ("POST", "/api/auth/login") in unifi_controller.requests
    assert ("POST", "/proxy/network/api/s/default/cmd/stamgr") in unifi_controller.requests


async def test_http_service_endpoints(
    unifi_api_settings: UnifiApiSettings, unifi_controller: UnifiControllerEmulator
) -> None:
    runner = LayerRunner(UnifiApiLayer(unifi_api_settings), LayerServiceSettings(token=SecretStr("layer-token")))
    async with serve_app(build_layer_app(runner)) as url, httpx.AsyncClient(base_url=url) as http:
        assert (await http.get("/health")).json()["status"] == "ok"
        ready = await http.get("/ready")
        assert ready.status_code == 200 and ready.json()["ready"] is True
        assert (await http.post("/v1/execute", json={"action": "list_clients"})).status_code == 401
        auth = {"Authorization": "Bearer layer-token"}
        actions = (await http.get("/v1/actions", headers=auth)).json()["actions"]
        restart = next(a for a in actions if a["name"] == "restart_device")
        assert restart["requires_confirmation"] is True and "mac" in restart["params"]["properties"]
        ok = await http.post("/v1/execute", json={"action": "list_clients"}, headers=auth)
        assert ok.status_code == 200 and ok.json()["result"]["count"] == 3
        bad = await http.post("/v1/execute", content=b"{not json", headers=auth)
        assert bad.status_code == 400 and "not valid JSON" in bad.json()["error"]["message"]
        extra = await http.post("/v1/execute", json={"action": "list_clients", "shell": "rm"}, headers=auth)
        assert extra.status_code == 400 and "shell" in extra.json()["error"]["message"]
        unknown = await http.post("/v1/execute", json={"action": "format_disk"}, headers=auth)
        assert unknown.status_code == 404 and "list_clients" in unknown.json()["error"]["message"]
        metrics = (await http.get("/metrics")).text
        assert 'cortex_layer_requests_total{action="list_clients",layer="unifi-api",outcome="ok"} 1.0' in metrics
        assert "cortex_layer_ready" in metrics
        assert 'action="unknown",layer="unifi-api",outcome="unknown_action"' in metrics
        assert "format_disk" not in metrics
