"""The `cortex` command line: `cortex layer` serves a layer, `cortex route` routes network requests offline."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cortex(*arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CORTEX_")}
    return subprocess.run(
        [sys.executable, "-m", "cortex.cli", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        check=False,
    )


def test_cortex_layer_telemetry_serves_health() -> None:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CORTEX_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "cortex.cli", "layer", "telemetry", "--host", "127.0.0.1", "--port", str(port)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"cortex layer exited: {process.stderr.read() if process.stderr else ''}"
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "cortex layer telemetry did not answer /health in 60 s"
                time.sleep(0.2)
        assert response.status_code == 200
        events = httpx.get(f"http://127.0.0.1:{port}/v1/audit", timeout=2)
        assert events.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_cortex_layer_rejects_an_unknown_layer() -> None:
    result = cortex("layer", "dns", "--port", "1")
    assert result.returncode == 2
    assert "invalid choice: 'dns'" in result.stderr and "Traceback" not in result.stderr


def test_cortex_route_names_the_unifi_layer_without_executing() -> None:
    result = cortex("route", "--json", "--no-similarity", "block the client with MAC AA-BB-CC-DD-EE-FF")
    assert result.returncode == 0, result.stderr
    decision = json.loads(result.stdout)
    assert (decision["layer"], decision["tool"], decision["arguments"]) == (
        "unifi-api",
        "block_client",
        {"mac": "aa:bb:cc:dd:ee:ff"},
    )
    assert decision["tier"] == "keyword" and decision["route"] == "unifi.block_client"
    restart = json.loads(cortex("route", "--json", "--no-similarity", "reboot the switch f0:9f:c2:00:00:02").stdout)
    assert restart["tool"] == "restart_device" and restart["requires_confirmation"] is True


def test_cortex_route_reports_a_bad_mac_clearly() -> None:
    result = cortex("route", "--no-similarity", "block the client 01:00:5e:00:00:01")
    assert result.returncode == 2
    assert result.stderr.startswith("error: cannot run this network request: ")
    assert "Traceback" not in result.stderr
