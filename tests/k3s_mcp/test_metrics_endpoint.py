"""GET /metrics: calls by tool and outcome, the latency histogram, API errors by status (an API server that never
answers included), calls in flight; Host-checked, and behind the token only when K3S_MCP_METRICS_REQUIRE_TOKEN asks."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastmcp import Client
from fastmcp.client.auth import BearerAuth
from prometheus_client.parser import text_string_to_metric_families

from k3s_mcp.server import build_server
from k3s_mcp.settings import Settings
from tests.k3s_mcp.conftest import SERVER_PROGRAM, call, call_error, server_env, wait_until
from tests.processes import free_port, serve_program

TOKEN = "k3s-mcp-metrics-test-token-8d2a41"


def samples(exposition: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus text exposition, parsed by prometheus_client's own parser."""
    return {
        (sample.name, frozenset(sample.labels.items())): float(sample.value)
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def value(exposition: str, name: str, **labels: str) -> float:
    return samples(exposition).get((name, frozenset(labels.items())), 0.0)


async def metrics_of(app: Any) -> str:
    """GET /metrics of an in-process app through its own HTTP app."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app.http_app()), base_url="http://127.0.0.1") as h:
        answer = await h.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return answer.text


@pytest.fixture
def silent_api_server(tmp_path: Path) -> Iterator[Path]:
    """A kubeconfig whose API server accepts connections and never answers (a hung or firewalled server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "silent", "cluster": {"server": f"https://127.0.0.1:{port}"}}],
        "users": [{"name": "silent", "user": {"token": "unused"}}],
        "contexts": [{"name": "silent", "context": {"cluster": "silent", "user": "silent"}}],
        "current-context": "silent",
    }
    path = tmp_path / "silent-kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig))
    try:
        yield path
    finally:
        listener.close()


async def test_calls_by_tool_and_outcome_latency_and_api_errors(kubeconfig: str, namespace: str) -> None:
    app = build_server(Settings(kubeconfig=kubeconfig, confirm_kinds="ConfigMap"))
    async with Client(app) as client:
        for _ in range(3):
            await call(client, "get_configmaps", {"namespace": namespace})
        await call_error(client, "get_configmap", {"name": "absent", "namespace": namespace})
        await call_error(client, "delete_configmap", {"name": "absent", "namespace": namespace})
        await call_error(client, "get_configmaps", {"namespace": namespace, "limit": 0})
        await call_error(client, "no_such_tool")
    exposition = await metrics_of(app)
    calls = "k3s_mcp_tool_calls_total"
    assert value(exposition, calls, tool="get_configmaps", outcome="ok", error="") == 3
    assert value(exposition, calls, tool="get_configmap", outcome="error", error="not_found") == 1
    assert value(exposition, calls, tool="delete_configmap", outcome="needs_confirmation", error="") == 1
    assert value(exposition, calls, tool="get_configmaps", outcome="error", error="invalid") == 1
    # A name that is no tool is one label, so clients cannot grow the series without bound.
    assert value(exposition, calls, tool="(unknown)", outcome="error", error="not_found") == 1
    histogram = "k3s_mcp_tool_call_duration_seconds"
    assert value(exposition, f"{histogram}_count", tool="get_configmaps") == 4
    assert value(exposition, f"{histogram}_bucket", tool="get_configmaps", le="+Inf") == 4
    assert 0 < value(exposition, f"{histogram}_sum", tool="get_configmaps") < 30
    assert value(exposition, f"{histogram}_bucket", tool="get_configmaps", le="0.005") <= 4
    # The missing ConfigMap was one 404 from the API server; the refused and invalid calls sent no request.
    assert value(exposition, "k3s_mcp_api_errors_total", status="404") == 1
    assert value(exposition, "k3s_mcp_tool_calls_in_flight") == 0
    assert value(exposition, "k3s_mcp_audit_dropped_total") == 0


async def test_each_app_counts_only_its_own_calls(kubeconfig: str) -> None:
    first, second = build_server(Settings(kubeconfig=kubeconfig)), build_server(Settings(kubeconfig=kubeconfig))
    async with Client(first) as client:
        await call(client, "list_contexts")
    assert value(await metrics_of(first), "k3s_mcp_tool_calls_total", tool="list_contexts", outcome="ok", error="")
    assert (
        value(await metrics_of(second), "k3s_mcp_tool_calls_total", tool="list_contexts", outcome="ok", error="") == 0
    )


async def test_a_silent_api_server_is_in_flight_then_unreachable(silent_api_server: Path) -> None:
    app = build_server(Settings(kubeconfig=str(silent_api_server), request_timeout_seconds=2.0))
    async with Client(app) as client:
        pending = asyncio.create_task(call_error(client, "get_namespaces"))

        async def in_flight() -> bool:
            return value(await metrics_of(app), "k3s_mcp_tool_calls_in_flight") == 1

        await wait_until(in_flight, within=5, what="the call in flight")
        message = await asyncio.wait_for(pending, 30)
    assert "did not answer in time" in message
    exposition = await metrics_of(app)
    assert value(exposition, "k3s_mcp_api_errors_total", status="unreachable") >= 1
    assert (
        value(exposition, "k3s_mcp_tool_calls_total", tool="get_namespaces", outcome="error", error="unreachable") == 1
    )
    assert value(exposition, "k3s_mcp_tool_calls_in_flight") == 0


async def test_the_http_server_serves_metrics_host_checked_without_the_token(kubeconfig: str, namespace: str) -> None:
    port = free_port()
    command = [SERVER_PROGRAM, "--transport", "http", "--host", "127.0.0.1", "--port", str(port)]
    env = server_env(kubeconfig, K3S_MCP_AUTH_TOKEN=TOKEN, K3S_READ_ONLY="true")
    base = f"http://127.0.0.1:{port}"
    async with serve_program(command, env, port, within=30):
        async with Client(f"{base}/mcp", auth=BearerAuth(TOKEN)) as client:
            await call(client, "get_configmaps", {"namespace": namespace})
            await call_error(client, "delete_configmap", {"name": "web", "namespace": namespace})
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            answer = await http.get("/metrics")
            rebinding = await http.get("/metrics", headers={"Host": "evil.example"})
            mcp_without_token = await http.post("/mcp", json={})
    assert answer.status_code == 200
    exposition = answer.text
    assert value(exposition, "k3s_mcp_tool_calls_total", tool="get_configmaps", outcome="ok", error="") == 1
    assert value(exposition, "k3s_mcp_tool_calls_total", tool="delete_configmap", outcome="refused", error="") == 1
    assert value(exposition, "k3s_mcp_tool_call_duration_seconds_count", tool="get_configmaps") == 1
    assert value(exposition, "k3s_mcp_tool_calls_in_flight") == 0
    # A page that renamed itself to 127.0.0.1 (DNS rebinding) cannot read the metrics either.
    assert rebinding.status_code == 421
    # The token still guards the MCP endpoint.
    assert mcp_without_token.status_code == 401


async def test_metrics_behind_the_token_when_asked(kubeconfig: str) -> None:
    port = free_port()
    command = [SERVER_PROGRAM, "--transport", "http", "--host", "127.0.0.1", "--port", str(port)]
    env = server_env(kubeconfig, K3S_MCP_AUTH_TOKEN=TOKEN, K3S_MCP_METRICS_REQUIRE_TOKEN="true")
    http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10)
    async with serve_program(command, env, port, within=30), http:
        missing = await http.get("/metrics")
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer wrong"})
        right = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        health = await http.get("/health")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert wrong.status_code == 401
    assert right.status_code == 200 and "k3s_mcp_tool_calls_in_flight 0.0" in right.text
    assert health.status_code == 200
