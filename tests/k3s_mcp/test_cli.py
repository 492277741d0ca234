"""The console script and `fastmcp run` serving real MCP clients (stdio, HTTP, the MCP Inspector CLI)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from fastmcp.client.transports import StdioTransport

from devcluster.cache import cache_root
from k3s_mcp import package_version
from tests.k3s_mcp.conftest import call

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]
NPM_PREFIX = cache_root() / "npm"


def server_env(kubeconfig: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(Path.home()), "KUBECONFIG": kubeconfig}


async def test_console_script_serves_stdio(kubeconfig: str) -> None:
    transport = StdioTransport(command=str(BIN / "k3s-mcp-server"), args=[], env=server_env(kubeconfig))
    async with Client(transport) as client:
        # serverInfo names this project and its version, not the framework's.
        assert client.server_info is not None
        assert client.server_info.name == "k3s-mcp"
        assert client.server_info.version == package_version() != "0+unknown"
        names = {tool.name for tool in await client.list_tools()}
        assert {"get_pods", "apply_manifest", "get_cluster_info"} <= names
        info = await call(client, "get_cluster_info")
        assert info["nodes"] >= 3


def test_version_flag_prints_the_project_version() -> None:
    done = subprocess.run([str(BIN / "k3s-mcp-server"), "--version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert done.stdout.strip() == f"k3s-mcp-server {package_version()}"


async def test_fastmcp_run_serves_the_app_over_stdio(kubeconfig: str) -> None:
    transport = StdioTransport(
        command=str(BIN / "fastmcp"),
        args=["run", "k3s_mcp/server.py:mcp", "--no-banner"],
        env=server_env(kubeconfig),
        cwd=str(REPO),
    )
    async with Client(transport) as client:
        namespaces = await call(client, "get_namespaces")
        assert "kube-system" in {row["name"] for row in namespaces["items"]}


async def test_console_script_serves_streamable_http(kubeconfig: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        str(BIN / "k3s-mcp-server"),
        *("--transport", "http", "--host", "127.0.0.1", "--port", str(port)),
        env=server_env(kubeconfig),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(150):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            await asyncio.sleep(0.1)
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            nodes = await call(client, "get_nodes")
            assert nodes["count"] >= 3
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)


def inspector() -> Path:
    """The MCP Inspector CLI, installed once into the cache with npm (no network at test run when cached)."""
    binary = NPM_PREFIX / "node_modules" / ".bin" / "mcp-inspector"
    if binary.exists():
        return binary
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is not installed, so the MCP Inspector CLI cannot be installed (Debian: apt-get install npm)")
    NPM_PREFIX.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            npm,
            "install",
            "--prefix",
            str(NPM_PREFIX),
            "--no-audit",
            "--no-fund",
            "@modelcontextprotocol/inspector",
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return binary


def run_inspector(kubeconfig: str, *method: str) -> dict[str, Any]:
    command = [
        str(inspector()),
        "--cli",
        "-e",
        f"KUBECONFIG={kubeconfig}",
        str(BIN / "k3s-mcp-server"),
        *method,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env={**os.environ})
    assert done.returncode == 0, done.stderr[-2000:]
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


async def test_mcp_inspector_cli_lists_and_calls_tools(kubeconfig: str) -> None:
    listed = await asyncio.to_thread(run_inspector, kubeconfig, "--method", "tools/list")
    names = {tool["name"] for tool in listed["tools"]}
    assert {"get_pods", "scale_deployment", "delete_resource"} <= names
    called = await asyncio.to_thread(
        run_inspector, kubeconfig, "--method", "tools/call", "--tool-name", "get_namespaces"
    )
    assert called.get("isError") is not True
    assert "kube-system" in json.dumps(called)


def test_one_malloc_arena_keeps_threads_off_arenas_of_their_own() -> None:
    # In child processes, since mallopt changes the allocator of the process that calls it; glibc's malloc_stats
    # writes one "Arena N:" paragraph per arena to stderr.
    program = (
        "import ctypes, sys, threading\n"
        "from k3s_mcp.cli import one_malloc_arena\n"
        "if sys.argv[1] == 'one': one_malloc_arena()\n"
        "blocks = []\n"
        "def work(): blocks.extend(bytearray(4096) for _ in range(2000))\n"
        "threads = [threading.Thread(target=work) for _ in range(4)]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
        "ctypes.CDLL(None).malloc_stats()\n"
    )

    def arenas(mode: str) -> int:
        done = subprocess.run(
            [sys.executable, "-c", program, mode], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr
        return done.stderr.count("Arena ")

    assert arenas("one") == 1
    assert arenas("default") > 1, "threads got arenas of their own without it (else this test shows nothing)"
