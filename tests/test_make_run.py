"""`make run` is the README's first command: it must answer an MCP client on stdio, cluster or not."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest
from fastmcp import Client
from fastmcp.client.transports import StdioTransport

PROJECT = Path(__file__).resolve().parents[1]


def make() -> str:
    """make is part of the toolchain the README's commands need: its absence fails the test, it never skips it."""
    found = shutil.which("make")
    if found is None:
        pytest.fail(
            "make is not installed; the README's commands need it (Debian: apt-get install make)", pytrace=False
        )
    return found


async def test_make_run_answers_initialize_and_tools_list(kubeconfig: str, tmp_path: Path) -> None:
    # No KUBECONFIG: make run uses ~/.kube/config when there is one, else starts (here: reuses) the local cluster.
    env = {key: value for key, value in os.environ.items() if key != "KUBECONFIG"}
    errors = tmp_path / "stderr.log"
    transport = StdioTransport(command=make(), args=["-s", "-C", str(PROJECT), "run"], env=env, log_file=errors)
    async with Client(transport, timeout=120) as client:
        tools = await client.list_tools()
        names = {tool.name for tool in tools}
        assert {"get_pods", "apply_manifest", "get_cluster_info"} <= names
        if not (Path.home() / ".kube" / "config").exists():
            info = await client.call_tool("get_cluster_info", {})
            assert info.structured_content is not None
            assert info.structured_content["server"].startswith("https://127.0.0.1:")
    if not (Path.home() / ".kube" / "config").exists():
        assert "starting the bundled local cluster" in errors.read_text()


async def test_make_run_answers_a_handshake_era_initialize(kubeconfig: str) -> None:
    """The plain JSON-RPC exchange an older client (or a person with a pipe) starts with."""
    env = {key: value for key, value in os.environ.items() if key != "KUBECONFIG"}
    process = await asyncio.create_subprocess_exec(
        make(), "-s", "-C", str(PROJECT), "run",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, env=env,
        limit=16 * 1024 * 1024,  # the tools/list answer is one long line
    )  # fmt: skip
    assert process.stdin is not None and process.stdout is not None
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    ]
    process.stdin.write("".join(json.dumps(m) + "\n" for m in messages).encode())
    await process.stdin.drain()
    try:
        initialize = json.loads(await asyncio.wait_for(process.stdout.readline(), 120))
        listing = json.loads(await asyncio.wait_for(process.stdout.readline(), 60))
    finally:
        process.stdin.close()
        await asyncio.wait_for(process.wait(), 30)
    assert initialize["id"] == 1 and initialize["result"]["serverInfo"]["name"] == "k3s-mcp"
    # The default surface: the 13 core tools, the generic reads and the three disclosure tools.
    names = {tool["name"] for tool in listing["result"]["tools"]}
    assert listing["id"] == 2 and {"get_pods", "apply_manifest", "enable_toolset", "call_tool"} <= names
