"""The `cortex` command line: `cortex layer` serves a layer, `cortex route` routes network requests offline, `cortex
warm` prepares the model cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from devcluster.processes import free_port


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


PROBE = """
import json, sys
from cortex.cli import main
code = main(["route", "--json", sys.argv[1]])
print(json.dumps({"code": code, "loaded": sorted(m for m in ("onnx", "qdrant_client") if m in sys.modules)}))
"""


def test_cortex_warm_prepares_the_cache_the_first_route_reads(tmp_path: Path) -> None:
    env = {"CORTEX_MODEL_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}

    def warm() -> str:
        done = subprocess.run(
            [sys.executable, "-m", "cortex.cli", "warm"], capture_output=True, text=True, env=env, timeout=300
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    built, again = warm(), warm()
    assert " seeded routes built in " in built and str(tmp_path) in built, built
    assert " seeded routes already cached in " in again and str(tmp_path) in again, again
    assert any(p.name.endswith(".onnx.data") for p in tmp_path.iterdir())
    prepared = sorted((str(p), p.stat().st_mtime_ns) for p in tmp_path.rglob("*") if p.is_file())
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "how much memory are the pods eating in shop"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    decision_line, probe_line = done.stdout.strip().splitlines()[-2:]
    assert json.loads(decision_line)["tier"] == "similarity"
    # The first route after `cortex warm` builds nothing (no model, no collection) and loads no Qdrant.
    assert json.loads(probe_line) == {"code": 0, "loaded": []}
    assert sorted((str(p), p.stat().st_mtime_ns) for p in tmp_path.rglob("*") if p.is_file()) == prepared


def test_cortex_warm_without_tier_2_says_so() -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CORTEX_")}
    result = subprocess.run(
        [sys.executable, "-m", "cortex.cli", "warm"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**environment, "CORTEX_SIMILARITY_ENABLED": "false"},
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == "error: tier 2 is disabled (CORTEX_SIMILARITY_ENABLED=false): nothing to prepare\n"
