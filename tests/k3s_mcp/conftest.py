"""Fixtures for the k3s_mcp tests: MCP clients connected in memory to apps configured for the test cluster."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastmcp import Client

from devcluster.api import ClusterAPI
from k3s_mcp.server import build_server
from k3s_mcp.settings import Settings
from tests.processes import free_port, serve_program

ClientFactory = Callable[..., Client[Any]]
SERVER_PROGRAM = str(Path(sys.executable).parent / "k3s-mcp-server")


def server_env(kubeconfig: str, **extra: str) -> dict[str, str]:
    """A minimal environment for a k3s-mcp-server process: no K3S_* settings leak in from the test run."""
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(Path.home()), "KUBECONFIG": kubeconfig, **extra}


@contextlib.asynccontextmanager
async def serve_with_token(kubeconfig: str, token: str | None) -> AsyncIterator[str]:
    """Run `k3s-mcp-server --transport http` on 127.0.0.1 with K3S_MCP_AUTH_TOKEN=`token` (None: without a token,
    as a local server runs); yields its MCP URL."""
    port = free_port()
    command = [SERVER_PROGRAM, "--transport", "http", "--host", "127.0.0.1", "--port", str(port)]
    env = server_env(kubeconfig, **({"K3S_MCP_AUTH_TOKEN": token} if token is not None else {}))
    async with serve_program(command, env, port, within=30):
        yield f"http://127.0.0.1:{port}/mcp"


@pytest.fixture(scope="session")
async def mcp_client(kubeconfig: str) -> AsyncIterator[Client[Any]]:
    """One MCP client for the session, talking in memory to the app with the test kubeconfig."""
    app = build_server(Settings(kubeconfig=kubeconfig, scale_wait_seconds=90))
    async with Client(app) as client:
        yield client


@pytest.fixture
def make_client() -> ClientFactory:
    """Build a client for an app with other settings, e.g. make_client(kubeconfig=..., read_only=True)."""

    def build(**settings: Any) -> Client[Any]:
        return Client(build_server(Settings(**settings)))

    return build


async def call(client: Client[Any], tool: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call a tool that must succeed and return its structured output."""
    result = await client.call_tool(tool, arguments or {}, raise_on_error=False)
    assert not result.is_error, f"{tool} failed: {[getattr(b, 'text', b) for b in result.content]}"
    assert isinstance(result.structured_content, dict), f"{tool} returned no structured content"
    return result.structured_content


async def call_error(client: Client[Any], tool: str, arguments: dict[str, Any] | None = None) -> str:
    """Call a tool that must fail and return its error text (which must carry no traceback)."""
    result = await client.call_tool(tool, arguments or {}, raise_on_error=False)
    assert result.is_error, f"{tool} unexpectedly succeeded: {result.structured_content}"
    text = "\n".join(getattr(block, "text", "") for block in result.content)
    assert "Traceback" not in text and 'File "' not in text, text
    return text


def read_yaml(path: str | Path) -> Any:
    return yaml.safe_load(Path(path).read_text())


def create(cluster_api: ClusterAPI, path: str, obj: dict[str, Any]) -> dict[str, Any]:
    status, answer = cluster_api.request("POST", path, obj)
    assert status == 201, f"creating {path}: {status} {answer}"
    assert isinstance(answer, dict)
    return answer


async def wait_until(check: Callable[[], Any], within: float = 60, what: str = "condition") -> Any:
    """Poll `check` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.3)


def running_pods(cluster_api: ClusterAPI, namespace: str, selector: str) -> list[dict[str, Any]]:
    status, answer = cluster_api.request("GET", f"/api/v1/namespaces/{namespace}/pods?labelSelector={selector}")
    assert status == 200, answer
    return [p for p in answer["items"] if (p.get("status") or {}).get("phase") == "Running"]
