"""`python -m cortex.layers.cli <layer>` serves a layer as its own process, configured from the env."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cortex.layers.cli import main, parse_args
from devcluster.processes import free_port


def wait_healthy(url: str, process: subprocess.Popen[bytes]) -> httpx.Response:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the layer exited with {process.returncode}")
        try:
            return httpx.get(f"{url}/health", timeout=1)
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the layer did not answer /health within 30 s")


@pytest.mark.parametrize("layer", ["telemetry", "unifi-ssh"])
def test_layer_runs_as_a_process(layer: str, tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "CORTEX_TELEMETRY_AUDIT_LOG_PATH": str(tmp_path / "audit.jsonl"),
        "CORTEX_UNIFI_SSH_HOST": "127.0.0.1",
        "CORTEX_UNIFI_SSH_PORT": str(free_port()),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "cortex.layers.cli", layer, "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        health = wait_healthy(url, process)
        assert health.json()["status"] == "ok"
        ready = httpx.get(f"{url}/ready", timeout=10)
        if layer == "telemetry":
            assert ready.status_code == 200
        else:
            # No known_hosts configured: the SSH layer must say it is not ready, and why.
            assert ready.status_code == 503 and "known_hosts" in ready.json()["reason"]
        assert "cortex_" in httpx.get(f"{url}/metrics", timeout=5).text
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    # uvicorn shuts down cleanly on SIGTERM, then re-raises the signal so the exit status tells it.
    assert process.returncode in (0, -signal.SIGTERM)
    assert b"Application shutdown complete" in output


def test_cli_rejects_unknown_layers() -> None:
    with pytest.raises(SystemExit):
        parse_args(["dns"])
    served: dict[str, object] = {}

    def serve(app: object, **options: object) -> None:
        served.update(options, app=app)

    assert main(["telemetry", "--port", "9123"], serve=serve) == 0
    assert served["port"] == 9123 and served["host"] == "127.0.0.1"
