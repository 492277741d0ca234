"""Request text -> keyword rule -> dispatcher -> layer services over HTTP -> controller / sshd -> result.

Every layer runs as its own uvicorn service, as in the cluster; telemetry records each outcome.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from cortex.activator.tiers.unifi_rules import UnifiRequestError, dispatch_network_request, match_unifi_request
from cortex.layers.client import (
    DispatchResult,
    HttpLayerClient,
    InProcessLayerClient,
    InProcessTelemetry,
    LayerCall,
    LayerDispatcher,
)
from cortex.layers.service import LayerRunner
from cortex.layers.settings import TelemetrySettings, UnifiApiSettings, UnifiSshSettings
from cortex.layers.telemetry import TelemetryStore
from cortex.layers.unifi_api import UnifiApiLayer
from cortex.layers.unifi_ssh import UnifiSshLayer
from tests.cortex.layers.local_server import ServedLayers
from tests.cortex.layers.unifi_controller_emulator import UnifiControllerEmulator


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@dataclass
class Fabric:
    dispatcher: LayerDispatcher
    controller: UnifiControllerEmulator
    telemetry_url: str

    async def ask(self, text: str, *, confirm: bool = False, actor: str = "anna") -> DispatchResult:
        match = match_unifi_request(text)
        assert match is not None, text
        return await self.dispatcher.dispatch(
            match.call, confirm=confirm, actor=actor, text=text, route=match.route, tier="keyword"
        )


@pytest.fixture
async def fabric(unifi_controller: UnifiControllerEmulator, served_layers: ServedLayers) -> AsyncIterator[Fabric]:
    dispatcher = served_layers.dispatcher(api_timeout=1.0)
    yield Fabric(dispatcher, unifi_controller, served_layers.telemetry_url)
    await dispatcher.aclose()


async def test_block_request_end_to_end(fabric: Fabric) -> None:
    result = await fabric.ask("block the client with MAC AA:BB:CC:DD:EE:FF")
    assert result.ok, result.response.error
    assert result.response.layer == "unifi-api"
    assert result.response.result == {"mac": "aa:bb:cc:dd:ee:ff", "blocked": True}
    assert fabric.controller.stations["aa:bb:cc:dd:ee:ff"]["blocked"] is True


async def test_controller_5xx_fails_over_to_ssh(fabric: Fabric) -> None:
    fabric.controller.fail_with = 502
    result = await fabric.ask("show me the wifi clients")
    assert result.ok, result.response.error
    assert result.failover_from == "unifi-api"
    assert result.first_error is not None and result.first_error.code == "upstream_unavailable"
    assert result.response.layer == "unifi-ssh" and result.response.result["source"] == "ssh"
    assert {row["mac"] for row in result.response.result["rows"]} >= {"aa:bb:cc:dd:ee:ff"}


async def test_controller_timeout_fails_over_to_ssh(fabric: Fabric) -> None:
    fabric.controller.delay_seconds = 2.5
    match = match_unifi_request("list the unifi devices")
    assert match is not None
    result = await fabric.dispatcher.dispatch(match.call, text="list the unifi devices", route=match.route)
    assert result.ok, result.response.error
    assert result.first_error is not None and result.first_error.code == "layer_timeout"
    assert result.response.result["rows"][0]["name"] == "ap-living-room"


async def test_writes_do_not_fail_over(fabric: Fabric) -> None:
    fabric.controller.fail_with = 503
    result = await fabric.ask("unblock the client aa:bb:cc:dd:ee:ff")
    response = result.response
    assert not response.ok
    assert response.layer == "unifi-api" and response.status == 503
    assert result.failover_from is None


async def test_restart_requires_confirmation_end_to_end(fabric: Fabric) -> None:
    text = "restart the access point f0:9f:c2:00:00:02"
    unconfirmed = await fabric.ask(text)
    assert unconfirmed.response.status == 428
    assert fabric.controller.restarted == []
    confirmed = await fabric.ask(text, confirm=True)
    assert confirmed.ok
    assert fabric.controller.restarted == ["f0:9f:c2:00:00:02"]


async def test_outcomes_reach_telemetry(fabric: Fabric, audit_log: Path) -> None:
    await fabric.ask("block the client with MAC aa:bb:cc:dd:ee:ff", actor="anna")
    await fabric.ask("restart the access point f0:9f:c2:00:00:02", actor="ben")
    fabric.controller.fail_with = 500
    await fabric.ask("show me the wifi clients", actor="carl")
    records = read_jsonl(audit_log)
    assert [(r["actor"], r["layer"], r["action"], r["result"]) for r in records] == [
        ("anna", "unifi-api", "block_client", "ok"),
        ("ben", "unifi-api", "restart_device", "confirmation_required"),
        ("carl", "unifi-ssh", "list_clients", "ok"),
    ]
    assert records[2]["failover_from"] == "unifi-api"
    async with httpx.AsyncClient(base_url=fabric.telemetry_url) as http:
        metrics = (await http.get("/metrics")).text
        training = [json.loads(line) for line in (await http.get("/v1/training-set")).text.splitlines()]
    assert 'cortex_failovers_total{from_layer="unifi-api",to_layer="unifi-ssh"} 1.0' in metrics
    assert {(row["text"], row["route"]) for row in training} == {
        ("block the client with MAC aa:bb:cc:dd:ee:ff", "unifi.block_client"),
        ("show me the wifi clients", "unifi.list_clients"),
    }


async def test_unreachable_layer_and_unknown_layer(fabric: Fabric) -> None:
    unknown = await fabric.dispatcher.dispatch(LayerCall("dns", "flush"))
    assert unknown.response.status == 404 and unknown.response.error is not None
    assert "unifi-api" in unknown.response.error.message
    gone = LayerDispatcher({"unifi-api": HttpLayerClient("unifi-api", "http://127.0.0.1:9", timeout=1.0)})
    result = await gone.dispatch(LayerCall("unifi-api", "list_clients"))
    await gone.aclose()
    assert result.response.status == 503 and result.response.error is not None
    assert result.response.error.code == "layer_unreachable"


async def test_in_process_fabric_with_failover(
    unifi_controller: UnifiControllerEmulator,
    unifi_api_settings: UnifiApiSettings,
    unifi_ssh_settings: UnifiSshSettings,
) -> None:
    store = TelemetryStore(TelemetrySettings())
    dispatcher = LayerDispatcher(
        {
            "unifi-api": InProcessLayerClient(LayerRunner(UnifiApiLayer(unifi_api_settings))),
            "unifi-ssh": InProcessLayerClient(LayerRunner(UnifiSshLayer(unifi_ssh_settings))),
        },
        telemetry=InProcessTelemetry(store),
    )
    try:
        blocked = await dispatch_network_request("block client aa:bb:cc:dd:ee:ff", dispatcher, actor="anna")
        assert blocked is not None and blocked.ok
        assert await dispatch_network_request("scale deployment web to 3", dispatcher) is None
        unifi_controller.fail_with = 503
        clients = await dispatch_network_request("list wifi clients", dispatcher, actor="anna")
        assert clients is not None and clients.ok and clients.failover_from == "unifi-api"
        with pytest.raises(UnifiRequestError):
            await dispatch_network_request("block client aa:bb:cc", dispatcher)
    finally:
        await dispatcher.aclose()
    assert [(r["action"], r["layer"], r["result"]) for r in store.recent(10)] == [
        ("block_client", "unifi-api", "ok"),
        ("list_clients", "unifi-ssh", "ok"),
    ]
