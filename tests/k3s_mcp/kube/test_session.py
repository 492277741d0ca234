"""The session's HTTP client skips aiohttp's per-request environment lookups only when there is no proxy to honour:
with HTTPS_PROXY set, requests still go through that proxy (a real CONNECT proxy on 127.0.0.1 here)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from k3s_mcp.kube import KubeSession
from k3s_mcp.kube.errors import Target
from k3s_mcp.settings import Settings

PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


@contextlib.asynccontextmanager
async def connect_proxy() -> AsyncIterator[tuple[str, list[str]]]:
    """An HTTP CONNECT proxy on 127.0.0.1 that tunnels to loopback targets only; yields its URL and the targets."""
    tunnelled: list[str] = []

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
        host, _, port = target.rpartition(":")
        if method != "CONNECT" or host not in ("127.0.0.1", "localhost"):
            writer.write(b"HTTP/1.1 403 Forbidden\r\n\r\n")
            writer.close()
            return
        tunnelled.append(target)
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", tunnelled
    finally:
        server.close()
        await server.wait_closed()


async def list_namespaces_through_a_session(kubeconfig: str) -> tuple[bool, str]:
    """A new session lists namespaces (the default one must be there); its HTTP session's trust_env and the API
    server's URL."""
    session = KubeSession(Settings(kubeconfig=kubeconfig))
    try:
        client = await session.api_client()
        answer = await session.request("GET", "/api/v1/namespaces", target=Target(kind="Namespace"))
        assert "default" in [item["metadata"]["name"] for item in answer["items"]]
        return client.rest_client.pool_manager.trust_env, str(client.configuration.host)
    finally:
        await session.close()


async def test_without_proxy_variables_requests_skip_the_environment_lookups(
    kubeconfig: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    trust_env, _ = await list_namespaces_through_a_session(kubeconfig)
    assert trust_env is False


async def test_with_a_proxy_variable_requests_still_go_through_the_proxy(
    kubeconfig: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    async with connect_proxy() as (url, tunnelled):
        monkeypatch.setenv("HTTPS_PROXY", url)
        trust_env, host = await list_namespaces_through_a_session(kubeconfig)
    assert trust_env is True
    assert tunnelled == [host.removeprefix("https://")], tunnelled
