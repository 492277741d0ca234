"""The audit log: one line per tool call with every field, nothing secret in it, rotation at the size limit, and a
stuck destination that slows no call (its lines are dropped and counted instead)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import statistics
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from fastmcp.client.auth import BearerAuth
from prometheus_client.parser import text_string_to_metric_families

from k3s_mcp.audit import AuditEvent, AuditLog
from k3s_mcp.server import build_server
from k3s_mcp.settings import Settings
from tests.k3s_mcp.conftest import SERVER_PROGRAM, call, call_error, server_env, wait_until
from tests.processes import free_port, serve_program

SECRET_VALUE = "pa55-Vault-7f3e9c1d"
GITHUB_TOKEN = "ghp_" + "Zq8dR2mXk4Lw9Tb1Vn6Hc3Jy7Pf5Gs0Ae2Ud"
TOKEN = "k3s-mcp-audit-test-token-0c4e2b"
STDIO_CALLER = {"client_id": "stdio", "subject": None, "transport": "stdio"}


def audit_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def assert_common_fields(line: dict[str, Any], since: datetime) -> None:
    assert set(line) == {"time", "caller", "tool", "arguments", "target", "outcome", "error", "duration_ms"}
    assert line["time"].endswith("Z")
    moment = datetime.fromisoformat(line["time"].replace("Z", "+00:00"))
    assert since <= moment <= datetime.now(UTC), line["time"]
    assert isinstance(line["duration_ms"], float | int) and 0 < line["duration_ms"] < 30_000


def metric_value(exposition: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    raise AssertionError(f"no sample {name}{labels} in the exposition")


async def exposition_of(app: Any) -> str:
    """GET /metrics of an in-process app through its own HTTP app (no process, no network)."""
    import httpx

    transport = httpx.ASGITransport(app=app.http_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        answer = await http.get("/metrics")
    assert answer.status_code == 200
    return answer.text


async def test_each_outcome_is_one_line_with_every_field(kubeconfig: str, namespace: str, tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    since = datetime.now(UTC)
    app = build_server(Settings(kubeconfig=kubeconfig, audit_log=str(log), confirm_kinds="Secret"))
    async with Client(app) as client:
        await call(client, "apply_secret", {"name": "db", "namespace": namespace, "string_data": {"pw": SECRET_VALUE}})
        await call(client, "get_pods", {"namespace": namespace, "labels": f"token={GITHUB_TOKEN}"})
        await call_error(client, "get_secret", {"name": "missing", "namespace": namespace})
        await call_error(client, "delete_secret", {"name": "db", "namespace": namespace})
        await call_error(client, "get_pods", {"namespace": namespace, "limit": 999_999})
        await call(client, "delete_secret", {"name": "db", "namespace": namespace, "confirm": True})
    lines = await wait_until(lambda: len(audit_lines(log)) >= 6 and audit_lines(log), within=10, what="6 lines")
    assert len(lines) == 6
    for line in lines:
        assert_common_fields(line, since)
        assert line["caller"] == STDIO_CALLER
    applied, listed, missing, held, invalid, deleted = lines
    target = {"name": "db", "namespace": namespace}

    assert (applied["tool"], applied["outcome"], applied["error"]) == ("apply_secret", "ok", None)
    assert applied["arguments"] == {"name": "db", "namespace": namespace, "string_data": {"pw": "(hidden)"}}
    assert applied["target"] == target

    assert (listed["tool"], listed["outcome"]) == ("get_pods", "ok")
    assert listed["arguments"]["labels"].startswith("token=[redacted: ")
    assert listed["target"] == {"namespace": namespace}

    assert (missing["tool"], missing["outcome"], missing["error"]) == ("get_secret", "error", "not_found")
    assert missing["target"] == {"name": "missing", "namespace": namespace}

    assert (held["tool"], held["outcome"], held["error"]) == ("delete_secret", "needs_confirmation", None)
    assert held["target"] == target

    assert (invalid["tool"], invalid["outcome"], invalid["error"]) == ("get_pods", "error", "invalid")
    assert invalid["arguments"]["limit"] == 999_999

    assert (deleted["tool"], deleted["outcome"], deleted["arguments"]["confirm"]) == ("delete_secret", "ok", True)

    text = log.read_text()
    assert SECRET_VALUE not in text and GITHUB_TOKEN not in text and GITHUB_TOKEN[4:] not in text


async def test_a_read_only_refusal_and_a_secret_manifest(kubeconfig: str, namespace: str, tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    since = datetime.now(UTC)
    manifest = f"apiVersion: v1\nkind: Secret\nmetadata: {{name: x, namespace: {namespace}}}\n"
    manifest += f"stringData: {{value: {SECRET_VALUE}}}\n"
    app = build_server(Settings(kubeconfig=kubeconfig, audit_log=str(log), read_only=True))
    async with Client(app) as client:
        refusal = await call_error(client, "apply_manifest", {"manifest_yaml": manifest})
        assert "read-only" in refusal
    [line] = await wait_until(lambda: audit_lines(log), within=10, what="the audit line")
    assert_common_fields(line, since)
    assert (line["tool"], line["outcome"], line["error"]) == ("apply_manifest", "refused", None)
    digest = line["arguments"]["manifest_yaml"]
    assert digest["bytes"] == len(manifest.encode()) and len(digest["hmac_sha256"]) == 64
    # Keyed, so a guessed manifest cannot be confirmed offline from the log.
    assert digest["hmac_sha256"] != hashlib.sha256(manifest.encode()).hexdigest()
    assert SECRET_VALUE not in log.read_text()


async def test_http_calls_name_the_token_client(kubeconfig: str, namespace: str, tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    since = datetime.now(UTC)
    port = free_port()
    command = [SERVER_PROGRAM, "--transport", "http", "--host", "127.0.0.1", "--port", str(port)]
    env = server_env(kubeconfig, K3S_MCP_AUTH_TOKEN=TOKEN, K3S_AUDIT_LOG=str(log), K3S_READ_ONLY="true")
    async with serve_program(command, env, port, within=30):
        async with Client(f"http://127.0.0.1:{port}/mcp", auth=BearerAuth(TOKEN)) as client:
            await call(client, "get_configmaps", {"namespace": namespace})
            await call_error(client, "delete_configmap", {"name": "web", "namespace": namespace})
        lines = await wait_until(lambda: len(audit_lines(log)) >= 2 and audit_lines(log), within=10, what="2 lines")
    listed, refused = lines
    for line in lines:
        assert_common_fields(line, since)
        assert line["caller"] == {
            "client_id": "k3s-mcp-token",
            "subject": None,
            "transport": "http",
            "address": "127.0.0.1",
        }
    assert (listed["tool"], listed["outcome"], listed["target"]) == ("get_configmaps", "ok", {"namespace": namespace})
    assert (refused["tool"], refused["outcome"]) == ("delete_configmap", "refused")
    assert refused["target"] == {"name": "web", "namespace": namespace}
    assert TOKEN not in log.read_text()


async def test_the_log_rotates_at_the_size_limit(kubeconfig: str, tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    limit = 1_500
    app = build_server(Settings(kubeconfig=kubeconfig, audit_log=str(log), audit_max_bytes=limit, audit_backups=2))
    async with Client(app) as client:
        for index in range(40):
            await call_error(client, "get_configmap", {"name": f"absent-{index}", "namespace": "default"})
    await wait_until(lambda: (tmp_path / "audit.log.2").exists(), within=10, what="the second rotated file")
    # Only the current file and two backups: older lines are gone, as K3S_AUDIT_BACKUPS=2 asks.
    assert sorted(os.listdir(tmp_path)) == ["audit.log", "audit.log.1", "audit.log.2"]
    kept: list[str] = []
    for path in (tmp_path / "audit.log.2", tmp_path / "audit.log.1", log):
        assert 0 < path.stat().st_size <= limit, path
        kept += [json.loads(line)["target"]["name"] for line in path.read_text().splitlines()]
    # What is kept is the newest calls, in order, with none lost between files.
    assert kept == [f"absent-{index}" for index in range(40 - len(kept), 40)]
    assert 10 <= len(kept) < 40


async def drain(descriptor: int, quiet_for: float) -> bytes:
    """Everything written to a non-blocking pipe until nothing more comes for `quiet_for` seconds."""
    received = b""
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < quiet_for:
        try:
            chunk = os.read(descriptor, 65536)
        except BlockingIOError:
            chunk = b""
        if chunk:
            received += chunk
            quiet_since = time.monotonic()
        else:
            await asyncio.sleep(0.02)
    return received


async def test_a_stuck_destination_slows_no_call_and_drops_are_counted(kubeconfig: str, tmp_path: Path) -> None:
    fifo = tmp_path / "audit.fifo"
    os.mkfifo(fifo)
    queue_size, calls = 3, 12
    app = build_server(Settings(kubeconfig=kubeconfig, audit_log=str(fifo), audit_queue_size=queue_size))
    durations: list[float] = []
    drained = b""
    try:
        async with Client(app) as client:
            for _ in range(calls):
                started = time.perf_counter()
                await call(client, "list_contexts")
                durations.append(time.perf_counter() - started)
            exposition = await exposition_of(app)
    finally:
        # Read the FIFO now, so the writer thread stuck opening it gets out and writes what it holds.
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            drained = await drain(reader, quiet_for=1.0)
        finally:
            os.close(reader)
    # Nobody reads the FIFO, so the writer never opened it: no call may have waited for it.
    assert max(durations) < 1.0, durations
    dropped = metric_value(exposition, "k3s_mcp_audit_dropped_total")
    # The writer holds one event while it waits on the FIFO and the queue holds queue_size; the rest are dropped.
    assert calls - queue_size - 1 <= dropped <= calls - queue_size, dropped
    # Once someone reads, the lines that were kept arrive: every call is either written or counted.
    written = [json.loads(line) for line in drained.decode().splitlines()]
    assert len(written) + dropped == calls and {line["tool"] for line in written} == {"list_contexts"}
    assert metric_value(exposition, "k3s_mcp_tool_calls_total", tool="list_contexts", outcome="ok") == calls


async def test_a_destination_that_cannot_be_opened_is_said_once_and_counted(
    kubeconfig: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the log's directory should be\n")
    calls = 5
    app = build_server(Settings(kubeconfig=kubeconfig, audit_log=str(blocker / "audit.log")))
    with caplog.at_level(logging.ERROR, logger="k3s_mcp.audit"):
        async with Client(app) as client:
            for _ in range(calls):
                await call(client, "list_contexts")

            async def all_dropped() -> bool:
                return metric_value(await exposition_of(app), "k3s_mcp_audit_dropped_total") == calls

            await wait_until(all_dropped, within=10, what="every line counted as dropped")
    opening_errors = [record for record in caplog.records if "Cannot open the audit log" in record.getMessage()]
    assert len(opening_errors) == 1, [record.getMessage() for record in caplog.records]


@pytest.mark.parametrize("destination", ["stdout", "/dev/stdout"])
def test_stdout_is_refused_as_a_destination(kubeconfig: str, destination: str) -> None:
    # On stdio, stdout carries JSON-RPC: an audit line there would break the client's session.
    result = subprocess.run(
        [SERVER_PROGRAM],
        env=server_env(kubeconfig, K3S_AUDIT_LOG=destination),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert result.stdout == ""
    assert "K3S_AUDIT_LOG must not be stdout" in result.stderr


async def test_audit_overhead_per_call(kubeconfig: str, tmp_path: Path) -> None:
    """Measures what writing the audit log adds to a call (printed, not asserted: it depends on the machine)."""
    rounds = 300
    log = tmp_path / "audit.log"
    plain = Client(build_server(Settings(kubeconfig=kubeconfig)))
    audited = Client(build_server(Settings(kubeconfig=kubeconfig, audit_log=str(log))))
    timings: dict[str, list[float]] = {"without": [], "with": []}
    async with plain, audited:
        for client in (plain, audited):
            await call(client, "list_contexts")
        # Alternating the two apps call by call, so warm-up and machine load weigh on both alike.
        for _ in range(rounds):
            for key, client in (("without", plain), ("with", audited)):
                started = time.perf_counter()
                await call(client, "list_contexts")
                timings[key].append(time.perf_counter() - started)
    lines = await wait_until(lambda: len(audit_lines(log)) == rounds + 1 and audit_lines(log), within=10, what="lines")
    assert {line["tool"] for line in lines} == {"list_contexts"}
    without, with_log = statistics.median(timings["without"]), statistics.median(timings["with"])
    print(
        f"\naudit overhead: median list_contexts call {without * 1000:.3f} ms without the audit log, "
        f"{with_log * 1000:.3f} ms with it ({(with_log - without) * 1e6:+.0f} µs per call, {rounds} calls each)"
    )
    # The same cost without the rest of the call around it: queuing an event (what a call waits for) and shaping
    # and writing its line (what the writer thread does).
    writer = AuditLog(str(tmp_path / "bare.log"), max_bytes=0, backups=0, queue_size=10_000, on_drop=lambda: None)
    event = AuditEvent(
        time=datetime.now(UTC),
        caller=STDIO_CALLER,
        tool="get_secret",
        arguments={"name": "db", "namespace": "shop"},
        outcome="ok",
        error=None,
        duration_seconds=0.004,
    )
    count = 5_000
    started = time.perf_counter()
    for _ in range(count):
        writer.record(event)
    queued = time.perf_counter() - started
    assert writer.flush(timeout=30)
    written = time.perf_counter() - started
    writer.close()
    assert len((tmp_path / "bare.log").read_text().splitlines()) == count
    print(
        f"audit line: {queued / count * 1e6:.1f} µs to queue on the event loop, "
        f"{written / count * 1e6:.1f} µs until written by the thread"
    )
