"""Helpers of the HTTP-boundary tests: the two servers as real processes, and requests written byte by byte.

httpx normalises what it sends (it always adds a Host, refuses some header values), so the requests that try
odd Host and Origin spellings are written to the socket as they are.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.k3s_mcp.conftest import SERVER_PROGRAM, server_env
from tests.processes import PROJECT, free_port, serve_program

NO_KUBECONFIG = "/nonexistent/kubeconfig"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "boundary-test", "version": "1"},
    },
}
MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


@dataclass(frozen=True)
class Served:
    """A server process on 127.0.0.1: its port and base URL."""

    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass(frozen=True)
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes

    def error(self) -> str:
        """The `error` sentence of a JSON error body."""
        return str(json.loads(self.body)["error"])


def cortex_env(**extra: str) -> dict[str, str]:
    """A minimal environment for `cortex serve`: no CORTEX_* or K3S_* settings leak in from the test run."""
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(Path.home()), "KUBECONFIG": NO_KUBECONFIG, **extra}


@contextlib.asynccontextmanager
async def serve_k3s_mcp(kubeconfig: str = NO_KUBECONFIG, **extra: str) -> AsyncIterator[Served]:
    """`k3s-mcp-server --transport http` on 127.0.0.1 with the environment `extra` (tools/list needs no cluster)."""
    port = free_port()
    command = [SERVER_PROGRAM, "--transport", "http", "--host", "127.0.0.1", "--port", str(port)]
    async with serve_program(command, server_env(kubeconfig, **extra), port, within=30):
        yield Served(port)


def cortex_command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "cortex.cli", *arguments]


@contextlib.asynccontextmanager
async def serve_cortex(env: Mapping[str, str]) -> AsyncIterator[Served]:
    """`cortex serve` on 127.0.0.1 (uvicorn opens the port once the activator has started)."""
    port = free_port()
    command = cortex_command("serve", "--host", "127.0.0.1", "--port", str(port))
    async with serve_program(command, env, port, within=120):
        yield Served(port)


def run_to_exit(command: Sequence[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a server command that must refuse to start."""
    return subprocess.run(
        list(command), env=dict(env), cwd=PROJECT, capture_output=True, text=True, timeout=120, check=False
    )


async def raw_request(
    port: int,
    method: str,
    path: str,
    headers: Sequence[tuple[str, str]],
    body: bytes = b"",
    *,
    version: str = "HTTP/1.1",
) -> RawAnswer:
    """Send one request exactly as given (no Host is added) and read the answer until the server closes."""
    lines = [f"{method} {path} {version}", *(f"{name}: {value}" for name, value in headers)]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 30)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        parsed[name.strip().lower()] = value.strip()
    return RawAnswer(int(status_line.split()[1]), parsed, rest)


async def mcp_initialize(port: int, host: str | None, *extra: tuple[str, str], version: str = "HTTP/1.1") -> RawAnswer:
    """An MCP initialize request with the Host `host` (None: no Host header at all) and `extra` headers."""
    headers = [*([("Host", host)] if host is not None else []), *MCP_HEADERS.items(), *extra]
    return await raw_request(port, "POST", "/mcp", headers, json.dumps(INITIALIZE).encode(), version=version)
