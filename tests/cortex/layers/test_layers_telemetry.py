"""cortex-telemetry: events in over HTTP -> Prometheus metrics, audit log lines, JSONL training set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from cortex.layers.settings import LayerServiceSettings, TelemetrySettings
from cortex.layers.telemetry import OutcomeEvent, TelemetryStore, build_telemetry_app
from tests.cortex.layers.local_server import serve_app


def read_text(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def event(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"actor": "anna", "layer": "unifi-api", "action": "block_client", "result": "ok"}
    return {**base, **fields}


async def test_events_become_metrics_audit_lines_and_a_training_set(audit_log: Path) -> None:
    store = TelemetryStore(TelemetrySettings(audit_log_path=audit_log))
    events = [
        event(
            text="block the client with MAC aa:bb:cc:dd:ee:ff",
            route="unifi.block_client",
            params={"mac": "aa:bb:cc:dd:ee:ff"},
            duration_ms=42.0,
            tier="keyword",
        ),
        event(text="Block  the client with MAC aa:bb:cc:dd:ee:ff", route="unifi.block_client"),
        event(
            text="block the client with MAC aa:bb:cc:dd:ee:ff",
            route="k3s.delete_pod",
            result="error",
            layer="k3s",
            action="delete_pod",
            error_code="rejected",
        ),
        event(
            text="show wifi clients",
            route="unifi.list_clients",
            action="list_clients",
            layer="unifi-ssh",
            failover_from="unifi-api",
            duration_ms=120.0,
        ),
        event(
            text="what pods run in shop",
            route="k3s.get_pods",
            layer="k3s",
            action="get_pods",
            result="error",
            learned=True,
            tier="llm",
            confidence=0.71,
        ),
        event(
            actor="ben",
            action="restart_device",
            result="confirmation_required",
            params={"mac": "f0:9f:c2:00:00:02", "api_password": "hunter2"},
        ),
    ]
    async with serve_app(build_telemetry_app(store)) as url, httpx.AsyncClient(base_url=url) as http:
        single = await http.post("/v1/events", json=events[0])
        assert single.status_code == 202 and single.json()["accepted"] == 1
        batch = await http.post("/v1/events", json=events[1:])
        assert batch.status_code == 202 and batch.json()["accepted"] == 5

        metrics = (await http.get("/metrics")).text
        assert 'cortex_outcomes_total{action="block_client",layer="unifi-api",result="ok"} 2.0' in metrics
        assert 'cortex_failovers_total{from_layer="unifi-api",to_layer="unifi-ssh"} 1.0' in metrics
        assert 'cortex_routes_learned_total{route="k3s.get_pods"} 1.0' in metrics
        assert 'cortex_outcome_duration_seconds_count{layer="unifi-api"} 1.0' in metrics

        audit = (await http.get("/v1/audit", params={"actor": "ben"})).json()["records"]
        assert len(audit) == 1
        assert audit[0]["action"] == "restart_device" and audit[0]["result"] == "confirmation_required"
        assert audit[0]["params"]["api_password"] == "***"

        exported = (await http.get("/v1/training-set")).text

    raw = read_text(audit_log)
    lines = [json.loads(line) for line in raw.splitlines()]
    assert len(lines) == 6
    assert {"actor", "action", "layer", "result", "ts"} <= set(lines[0])
    assert "hunter2" not in raw

    examples = {row["text"]: row for row in map(json.loads, exported.splitlines())}
    assert examples["block the client with MAC aa:bb:cc:dd:ee:ff"]["route"] == "unifi.block_client"
    assert examples["block the client with MAC aa:bb:cc:dd:ee:ff"]["count"] == 2
    assert examples["show wifi clients"]["route"] == "unifi.list_clients"
    assert examples["what pods run in shop"]["route"] == "k3s.get_pods"
    assert len(examples) == 3


async def test_training_set_survives_a_restart_and_exports_to_a_file(audit_log: Path, tmp_path: Path) -> None:
    first = TelemetryStore(TelemetrySettings(audit_log_path=audit_log))
    await first.record([OutcomeEvent.model_validate(event(text="unblock aa:bb:cc:dd:ee:ff", route="unifi.unblock"))])
    with audit_log.open("a") as handle:
        handle.write('{"torn line')
    second = TelemetryStore(TelemetrySettings(audit_log_path=audit_log))
    target = tmp_path / "training.jsonl"
    assert await second.export_training_set(target) == 1
    assert json.loads(target.read_text())["route"] == "unifi.unblock"


async def test_bad_events_are_refused_with_a_reason(audit_log: Path) -> None:
    store = TelemetryStore(TelemetrySettings(audit_log_path=audit_log))
    app = build_telemetry_app(store, LayerServiceSettings(token=SecretStr("t0k")))
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as http:
        assert (await http.post("/v1/events", json=event())).status_code == 401
        auth = {"Authorization": "Bearer t0k"}
        bad = await http.post("/v1/events", json=event(result="maybe"), headers=auth)
        assert bad.status_code == 400 and "result" in bad.json()["error"]["message"]
        label = await http.post("/v1/events", json=event(layer='x"} 1\nfake_metric 9'), headers=auth)
        assert label.status_code == 400 and "layer" in label.json()["error"]["message"]
        broken = await http.post("/v1/events", content=b"[{", headers=auth)
        assert broken.status_code == 400
        assert (await http.get("/v1/audit", params={"limit": "x"}, headers=auth)).status_code == 400
        assert (await http.get("/health")).status_code == 200
        assert (await http.get("/ready")).json()["ready"] is True
        metrics = (await http.get("/metrics")).text
        assert "cortex_telemetry_rejected_events_total 2.0" in metrics
    assert read_text(audit_log) == ""
