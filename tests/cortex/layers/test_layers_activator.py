"""Activator HTTP -> UniFi keyword rules -> unifi-api / unifi-ssh layer services -> local controller / sshd.

The activator, each layer and telemetry run as their own uvicorn services on 127.0.0.1, as in the cluster.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from cortex.activator.catalog import ToolCatalog
from cortex.activator.http_app import create_app
from cortex.activator.service import Activator
from cortex.activator.settings import ActivatorSettings
from cortex.layers.service import LayerRunner, build_layer_app
from cortex.layers.settings import LayerClientSettings, TelemetrySettings, UnifiApiSettings
from cortex.layers.telemetry import TelemetryStore, build_telemetry_app
from cortex.layers.unifi_api import UnifiApiLayer
from tests.cortex.layers.local_server import ServedLayers, serve_app
from tests.cortex.layers.unifi_controller_emulator import UnifiControllerEmulator

MAC = "aa:bb:cc:dd:ee:ff"
AP = "f0:9f:c2:00:00:02"


def activator_settings() -> ActivatorSettings:
    """Tier 1 only and nothing from the environment's CORTEX_* variables."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("CORTEX_")}
    for key in saved:
        del os.environ[key]
    try:
        return ActivatorSettings(similarity_enabled=False, mcp_url=None, classifier_url=None, reasoning_url=None)
    finally:
        os.environ.update(saved)


def audit_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def pending(metrics: str, layer: str) -> float:
    found = re.search(rf'^cortex_activator_pending_requests\{{layer="{re.escape(layer)}"\}} (\S+)$', metrics, re.M)
    assert found, f"no pending-requests series for {layer}"
    return float(found[1])


@dataclass
class Fabric:
    http: httpx.AsyncClient
    controller: UnifiControllerEmulator
    audit_log: Path

    async def query(self, text: str, **fields: Any) -> httpx.Response:
        return await self.http.post("/query", json={"query": text, **fields})

    async def metrics(self) -> str:
        return (await self.http.get("/metrics")).text


@pytest.fixture
async def fabric(
    unifi_controller: UnifiControllerEmulator, served_layers: ServedLayers, audit_log: Path
) -> AsyncIterator[Fabric]:
    settings = activator_settings()
    activator = Activator(settings, layers=served_layers.dispatcher(api_timeout=1.5))
    # The snapshot catalog: these requests never reach k3s_mcp, so no cluster is needed.
    await activator.start(ToolCatalog.from_snapshot(settings.catalog_snapshot_path))
    try:
        async with (
            serve_app(create_app(settings, activator=activator)) as activator_url,
            httpx.AsyncClient(base_url=activator_url, timeout=30) as http,
        ):
            yield Fabric(http, unifi_controller, audit_log)
    finally:
        await activator.stop()


async def test_block_runs_on_the_unifi_api_layer(fabric: Fabric) -> None:
    response = await fabric.query("block the client with MAC AA:BB:CC:DD:EE:FF")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["layer"], body["tool"], body["tier"]) == (
        "executed",
        "unifi-api",
        "block_client",
        "keyword",
    )
    assert body["arguments"] == {"mac": MAC} and body["executed"]
    assert body["result"]["result"] == {"mac": MAC, "blocked": True}
    assert fabric.controller.stations[MAC]["blocked"] is True
    metrics = await fabric.metrics()
    assert pending(metrics, "unifi-api") == 0.0
    assert 'cortex_activator_queries_total{outcome="executed",tier="keyword"} 1.0' in metrics
    (record,) = audit_records(fabric.audit_log)
    assert (record["actor"], record["layer"], record["action"], record["route"], record["result"]) == (
        "cortex-activator",
        "unifi-api",
        "block_client",
        "unifi.block_client",
        "ok",
    )


async def test_controller_outage_fails_over_to_the_ssh_layer(fabric: Fabric) -> None:
    fabric.controller.fail_with = 502
    body = (await fabric.query("show me the wifi clients")).json()
    assert body["status"] == "executed", body
    assert body["result"]["layer"] == "unifi-ssh" and body["result"]["failover_from"] == "unifi-api"
    assert "unifi-api" in body["message"] and "unifi-ssh" in body["message"]
    assert MAC in {row["mac"] for row in body["result"]["result"]["rows"]}
    metrics = await fabric.metrics()
    assert pending(metrics, "unifi-api") == 0.0 and pending(metrics, "unifi-ssh") == 0.0


async def test_pending_requests_count_while_a_layer_answers(fabric: Fabric) -> None:
    fabric.controller.delay_seconds = 0.8
    request = asyncio.create_task(fabric.query("list the unifi devices"))
    seen: list[float] = []
    for _ in range(60):
        seen.append(pending(await fabric.metrics(), "unifi-api"))
        if seen[-1] == 1.0 or request.done():
            break
        await asyncio.sleep(0.02)
    body = (await request).json()
    assert 1.0 in seen, seen
    assert body["status"] == "executed" and body["result"]["layer"] == "unifi-api"
    metrics = await fabric.metrics()
    assert pending(metrics, "unifi-api") == 0.0 and pending(metrics, "cortex-telemetry") == 0.0


async def test_restart_needs_confirmation_then_runs(fabric: Fabric) -> None:
    text = f"restart the access point {AP.upper()}"
    held = (await fabric.query(text)).json()
    assert held["status"] == "needs_confirmation" and held["requires_confirmation"], held
    assert "confirm=true" in held["message"] and not held["executed"]
    assert fabric.controller.restarted == []
    done = (await fabric.query(text, confirm=True)).json()
    assert done["status"] == "executed", done
    assert fabric.controller.restarted == [AP]


async def test_bad_mac_is_a_clear_400_and_nothing_runs(fabric: Fabric) -> None:
    for text in (
        "block the client 01:00:5e:00:00:01",
        f"block the client {MAC} and 11:22:33:44:55:66",
        "unblock the client please",
    ):
        response = await fabric.query(text)
        assert response.status_code == 400, (text, response.text)
        assert response.json()["error"].startswith("cannot run this network request: ")
        assert "Traceback" not in response.text
    assert not any(station.get("blocked") for station in fabric.controller.stations.values())
    assert fabric.controller.requests == []


async def test_route_only_and_dry_run_touch_nothing(fabric: Fabric) -> None:
    routed = (await fabric.query(f"block the client {MAC}", execute=False)).json()
    assert routed["status"] == "routed" and routed["layer"] == "unifi-api" and not routed["executed"]
    dry = (await fabric.query(f"block the client {MAC}", dry_run=True)).json()
    assert dry["status"] == "dry_run" and not dry["executed"]
    assert fabric.controller.requests == [] and not fabric.controller.stations[MAC].get("blocked")


async def test_unconfigured_layer_says_which_setting_is_missing() -> None:
    settings = activator_settings()
    activator = Activator(settings, layers=LayerClientSettings(unifi_api_url=None, unifi_ssh_url=None))
    await activator.start(ToolCatalog.from_snapshot(settings.catalog_snapshot_path))
    try:
        app = create_app(settings, activator=activator)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a") as http:
            body = (await http.post("/query", json={"query": f"block client {MAC}"})).json()
    finally:
        await activator.stop()
    assert body["status"] == "routed" and "CORTEX_LAYERS_UNIFI_API_URL" in body["message"]


async def test_request_is_held_while_a_sleeping_layer_wakes(
    unifi_controller: UnifiControllerEmulator, unifi_api_settings: UnifiApiSettings
) -> None:
    """Nothing listens on the unifi-api URL at first (scaled to zero); the gauge stays up until it answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = activator_settings().model_copy(update={"wake_timeout_seconds": 20.0})
    layers = LayerClientSettings(unifi_api_url=f"http://127.0.0.1:{port}", unifi_ssh_url=None, telemetry_url=None)
    activator = Activator(settings, layers=layers)
    await activator.start(ToolCatalog.from_snapshot(settings.catalog_snapshot_path))
    app = create_app(settings, activator=activator)
    layer = uvicorn.Server(
        uvicorn.Config(
            build_layer_app(LayerRunner(UnifiApiLayer(unifi_api_settings))),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    serving: asyncio.Task[None] | None = None
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a") as http:
            request = asyncio.create_task(http.post("/query", json={"query": f"block client {MAC}"}))
            for _ in range(100):
                if pending((await http.get("/metrics")).text, "unifi-api") == 1.0:
                    break
                await asyncio.sleep(0.05)
            assert pending((await http.get("/metrics")).text, "unifi-api") == 1.0
            assert not request.done() and unifi_controller.requests == []
            # KEDA would start the layer now; here the test does.
            serving = asyncio.create_task(layer.serve())
            body = (await asyncio.wait_for(request, 30)).json()
            assert body["status"] == "executed", body
            assert unifi_controller.stations[MAC]["blocked"] is True
            assert pending((await http.get("/metrics")).text, "unifi-api") == 0.0
    finally:
        layer.should_exit = True
        if serving is not None:
            await serving
        await activator.stop()


async def test_a_layer_that_never_wakes_is_a_clear_503_answer(unifi_controller: UnifiControllerEmulator) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = activator_settings().model_copy(update={"wake_timeout_seconds": 1.0})
    layers = LayerClientSettings(unifi_api_url=f"http://127.0.0.1:{port}", unifi_ssh_url=None, telemetry_url=None)
    activator = Activator(settings, layers=layers)
    await activator.start(ToolCatalog.from_snapshot(settings.catalog_snapshot_path))
    try:
        app = create_app(settings, activator=activator)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a") as http:
            body = (await http.post("/query", json={"query": f"block client {MAC}"})).json()
    finally:
        await activator.stop()
    assert body["status"] == "failed" and "did not answer /health within 1 s" in body["message"], body
    assert body["result"]["status"] == 503


async def test_events_wait_for_a_sleeping_telemetry_layer(
    unifi_controller: UnifiControllerEmulator, unifi_api_settings: UnifiApiSettings, audit_log: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    telemetry = uvicorn.Server(
        uvicorn.Config(
            build_telemetry_app(TelemetryStore(TelemetrySettings(audit_log_path=audit_log))),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    serving: asyncio.Task[None] | None = None
    settings = activator_settings()
    async with serve_app(build_layer_app(LayerRunner(UnifiApiLayer(unifi_api_settings)))) as api_url:
        layers = LayerClientSettings(
            unifi_api_url=api_url, unifi_ssh_url=None, telemetry_url=f"http://127.0.0.1:{port}"
        )
        activator = Activator(settings, layers=layers)
        await activator.start(ToolCatalog.from_snapshot(settings.catalog_snapshot_path))
        try:
            app = create_app(settings, activator=activator)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a") as http:
                body = (await http.post("/query", json={"query": f"block client {MAC}"})).json()
                assert body["status"] == "executed", body
                # The event is held, and counted, until the telemetry layer is up.
                assert pending((await http.get("/metrics")).text, "cortex-telemetry") == 1.0
                serving = asyncio.create_task(telemetry.serve())
                for _ in range(100):
                    if pending((await http.get("/metrics")).text, "cortex-telemetry") == 0.0:
                        break
                    await asyncio.sleep(0.1)
                assert pending((await http.get("/metrics")).text, "cortex-telemetry") == 0.0
        finally:
            telemetry.should_exit = True
            if serving is not None:
                await serving
            await activator.stop()
    (record,) = audit_records(audit_log)
    assert (record["action"], record["result"]) == ("block_client", "ok")
