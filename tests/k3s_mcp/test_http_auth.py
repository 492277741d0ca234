"""The HTTP transport behind a bearer token: 401 without it, tools with it, and no open non-loopback bind."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import AsyncIterator

import httpx
import pytest
from fastmcp import Client
from fastmcp.client.auth import BearerAuth
from mcp.shared.exceptions import MCPError

from k3s_mcp.bind_rules import is_loopback
from tests.k3s_mcp.conftest import SERVER_PROGRAM, call, serve_with_token, server_env
from tests.processes import free_port

pytestmark = pytest.mark.cluster

TOKEN = "k3s-mcp-test-token-5b1f0e7c9a"


@pytest.fixture
async def token_server(kubeconfig: str) -> AsyncIterator[str]:
    """`k3s-mcp-server --transport http` on 127.0.0.1 with K3S_MCP_AUTH_TOKEN set; yields its URL."""
    async with serve_with_token(kubeconfig, TOKEN) as url:
        yield url


async def test_requests_without_the_token_get_401(token_server: str) -> None:
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    async with httpx.AsyncClient(timeout=10) as http:
        missing = await http.post(token_server, json=initialize, headers=headers)
        assert missing.status_code == 401
        assert "bearer" in missing.headers.get("www-authenticate", "").lower()
        wrong = await http.post(token_server, json=initialize, headers={**headers, "Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = await http.post(token_server, json=initialize, headers={**headers, "Authorization": f"Bearer {TOKEN}"})
        assert right.status_code == 200


async def test_client_with_the_token_lists_and_calls_tools(token_server: str) -> None:
    async with Client(token_server, auth=BearerAuth(TOKEN)) as client:
        names = {tool.name for tool in await client.list_tools()}
        assert "get_pods" in names and "list_contexts" not in names
        # Over HTTP too, enable_toolset lists more for this client (its token identifies it between requests).
        enabled = await call(client, "enable_toolset", {"toolsets": ["contexts", "keda"]})
        assert enabled["listed"] is True
        names = {tool.name for tool in await client.list_tools()}
        assert {"get_pods", "list_contexts", "get_keda_scalers"} <= names
        nodes = await call(client, "get_nodes")
        assert nodes["count"] >= 3


async def test_client_with_a_wrong_token_is_refused(token_server: str) -> None:
    # The transport sees the 401 and the client reports the failed initialize as an MCP error.
    with pytest.raises((MCPError, httpx.HTTPStatusError)):
        async with Client(token_server, auth=BearerAuth("wrong-token")) as client:
            await client.list_tools()


def test_non_loopback_bind_without_token_is_refused(kubeconfig: str) -> None:
    port = free_port()
    result = subprocess.run(
        [SERVER_PROGRAM, "--transport", "http", "--host", "0.0.0.0", "--port", str(port)],
        env=server_env(kubeconfig),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Refusing to serve HTTP on '0.0.0.0' without a token" in result.stderr
    assert "K3S_MCP_AUTH_TOKEN" in result.stderr and "Traceback" not in result.stderr
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.8.0.1")
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback("10.0.0.5")
    assert not is_loopback("example.internal")


async def test_health_answers_probes_without_the_token(token_server: str) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        health = await http.get(token_server.removesuffix("/mcp") + "/health")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
