"""The `helm test` hook of k3s-mcp, run against a real k3s-mcp-server process (KWOK cannot run its Python)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devcluster.processes import free_port, listening, stop_process
from tests.charts.helm_cli import Helm

pytestmark = pytest.mark.helm

TOKEN = "hook-test-token-0123456789abcdef0123456789abcdef"
# OAuth with the JWKS URL given, so the server starts without reaching the issuer; the hook needs no token.
OAUTH_VALUES = [
    "oauth.issuer=https://id.example.com/",
    "oauth.jwksUrl=https://id.example.com/.well-known/jwks.json",
    "auth.enabled=false",
    "server.resourceUrl=https://k3s-mcp.example.com",
]
OAUTH_ENVIRONMENT = {
    "K3S_MCP_OAUTH_ISSUER": "https://id.example.com/",
    "K3S_MCP_OAUTH_JWKS_URL": "https://id.example.com/.well-known/jwks.json",
    "K3S_MCP_RESOURCE_URL": "https://k3s-mcp.example.com",
}


def hook_script(helm: Helm, chart: Path, settings: list[str] | None = None) -> tuple[str, str]:
    """The Python program of the chart's test pod, and the in-cluster URL it calls."""
    (hook,) = [o for o in helm.template(chart, settings=settings or []) if o["kind"] == "Pod"]
    assert hook["metadata"]["annotations"]["helm.sh/hook"] == "test"
    command = hook["spec"]["containers"][0]["command"]
    assert command[:2] == ["python", "-c"]
    return command[2], "http://r-k3s-mcp:8000/mcp"


@pytest.fixture
def mcp_server(kubeconfig: str) -> Iterator[int]:
    """A real k3s-mcp-server speaking streamable HTTP on 127.0.0.1, as the chart's container runs it."""
    yield from serve({"KUBECONFIG": kubeconfig, "K3S_MCP_AUTH_TOKEN": TOKEN})


@pytest.fixture
def oauth_mcp_server(kubeconfig: str) -> Iterator[int]:
    """The same server as an OAuth resource server, as the chart's container runs it with oauth.issuer."""
    yield from serve({"KUBECONFIG": kubeconfig, **OAUTH_ENVIRONMENT})


def serve(settings: dict[str, str]) -> Iterator[int]:
    """Run k3s-mcp-server on a free loopback port with these settings (and none of the caller's K3S_MCP_ ones)."""
    port = free_port()
    environment = {
        **{name: value for name, value in os.environ.items() if not name.startswith("K3S_MCP_")},
        **settings,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "k3s_mcp.cli", "--transport", "http", "--host", "127.0.0.1", "--port", str(port)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise AssertionError(f"k3s-mcp-server exited: {server.stderr.read().decode() if server.stderr else ''}")
            if listening(port):
                break
            time.sleep(0.2)
        else:
            raise AssertionError("k3s-mcp-server did not listen within 60 s")
        yield port
    finally:
        stop_process(server)


def run_hook(script: str, url: str, port: int) -> subprocess.CompletedProcess[str]:
    local = script.replace(url, f"http://127.0.0.1:{port}/mcp")
    assert local != script
    return subprocess.run(
        [sys.executable, "-c", local],
        env={"TOKEN": TOKEN, "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_hook_passes_against_the_real_server(helm: Helm, charts: dict[str, Path], mcp_server: int) -> None:
    script, url = hook_script(helm, charts["k3s-mcp"])
    result = run_hook(script, url, mcp_server)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("200 ")
    assert "serverInfo" in result.stdout


def test_oauth_hook_passes_against_the_real_server(helm: Helm, charts: dict[str, Path], oauth_mcp_server: int) -> None:
    script, url = hook_script(helm, charts["k3s-mcp"], OAUTH_VALUES)
    result = run_hook(script, url, oauth_mcp_server)
    assert result.returncode == 0, result.stdout + result.stderr
    challenge, metadata = result.stdout.splitlines()[:2]
    assert challenge.startswith("401 Bearer") and "resource_metadata=" in challenge
    assert metadata.startswith("200 ") and "https://k3s-mcp.example.com/mcp" in metadata


def test_hook_fails_when_nothing_answers(helm: Helm, charts: dict[str, Path]) -> None:
    script, url = hook_script(helm, charts["k3s-mcp"])
    result = run_hook(script, url, free_port())
    assert result.returncode != 0
    assert "Connection refused" in result.stderr
