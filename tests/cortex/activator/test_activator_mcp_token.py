"""CORTEX_MCP_TOKEN against a real `k3s-mcp-server --transport http` that checks K3S_MCP_AUTH_TOKEN."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from cortex.activator.http_app import create_app
from cortex.activator.service import Activator
from cortex.activator.settings import ActivatorSettings
from cortex.layers.settings import LayerClientSettings
from tests.k3s_mcp.conftest import serve_with_token

pytestmark = pytest.mark.cluster

TOKEN = "cortex-to-k3s-mcp-token-1d9c04"


@pytest.fixture(scope="module")
async def mcp_url(kubeconfig: str) -> AsyncIterator[str]:
    """URL of `k3s-mcp-server --transport http` on 127.0.0.1 with K3S_MCP_AUTH_TOKEN set."""
    async with serve_with_token(kubeconfig, TOKEN) as url:
        yield url


async def started(settings: ActivatorSettings) -> Activator:
    activator = Activator(settings, layers=LayerClientSettings())
    await activator.start()
    return activator


async def test_right_token_reads_the_catalog_and_runs_tools(
    mcp_url: str, namespace: str, make_settings: Callable[..., ActivatorSettings]
) -> None:
    activator = await started(make_settings(mcp_url=mcp_url, mcp_token=SecretStr(TOKEN), similarity_enabled=False))
    try:
        assert activator.problems == []
        assert activator.catalog.source == mcp_url and "get_pods" in activator.catalog
        app = create_app(activator.settings, activator=activator)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a") as http:
            body = (await http.post("/query", json={"query": f"list pods in {namespace}"})).json()
        assert body["status"] == "executed" and body["tool"] == "get_pods", body
        assert body["result"]["ok"]
    finally:
        await activator.stop()


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (None, "requires a bearer token (401 Unauthorized): set CORTEX_MCP_TOKEN"),
        ("not-the-token", "refused CORTEX_MCP_TOKEN (401 Unauthorized)"),
    ],
    ids=["missing", "wrong"],
)
async def test_missing_or_wrong_token_is_a_clear_answer(
    mcp_url: str, token: str | None, expected: str, make_settings: Callable[..., ActivatorSettings]
) -> None:
    secret = SecretStr(token) if token else None
    activator = await started(make_settings(mcp_url=mcp_url, mcp_token=secret, similarity_enabled=False))
    try:
        assert any(expected in problem for problem in activator.problems), activator.problems
        app = create_app(activator.settings, activator=activator)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a") as http:
            ready = (await http.get("/ready")).json()
            response = await http.post("/query", json={"query": "list pods in default"})
        assert any(expected in problem for problem in ready["problems"])
        body = response.json()
        assert response.status_code == 200 and body["status"] == "routed" and not body["executed"]
        assert expected in body["message"] and "Traceback" not in response.text
    finally:
        await activator.stop()


async def test_cortex_snapshot_without_the_token_fails_clearly(mcp_url: str, tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CORTEX_")}
    environment.update(CORTEX_MCP_URL=mcp_url, CORTEX_SIMILARITY_ENABLED="false")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "cortex.cli", "snapshot", str(tmp_path / "catalog.json")),
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 1
    assert "set CORTEX_MCP_TOKEN" in stderr.decode() and "Traceback" not in stderr.decode()
    assert not (tmp_path / "catalog.json").exists()
    environment["CORTEX_MCP_TOKEN"] = TOKEN
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "cortex.cli", "snapshot", str(tmp_path / "catalog.json")),
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, stderr.decode()
    assert (tmp_path / "catalog.json").is_file() and "wrote" in stdout.decode()
