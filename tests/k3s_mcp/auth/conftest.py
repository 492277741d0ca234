"""Fixtures of the OAuth tests: a real Ory Hydra (built from the pins, cached) and k3s-mcp-server processes that
trust it. A missing Go toolchain or a failed build fails these tests; they never skip."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devcluster.build import build_hydra
from devcluster.hydra import Hydra, OAuthClient, running_hydra
from devcluster.messages import ClusterError
from k3s_mcp.middleware.scopes import SCOPE_DESTRUCTIVE, SCOPE_READ, SCOPE_WRITE
from tests.k3s_mcp.conftest import SERVER_PROGRAM, server_env
from tests.processes import free_port, serve_program

ALL_SCOPES = (SCOPE_READ, SCOPE_WRITE, SCOPE_DESTRUCTIVE)


@dataclass(frozen=True)
class OAuthServer:
    """A running `k3s-mcp-server --transport http` protected by OAuth: its MCP URL and its base URL."""

    url: str
    base_url: str


@pytest.fixture(scope="session")
def hydra_binary() -> Path:
    """The Hydra binary of devcluster/pins/hydra, built once into the cache (minutes the first time)."""
    try:
        return build_hydra()
    except ClusterError as error:
        pytest.fail(f"building Ory Hydra failed: {error}", pytrace=False)


@pytest.fixture(scope="session")
def hydra(hydra_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hydra]:
    """The identity provider the servers under test trust, for the whole session."""
    try:
        with running_hydra(hydra_binary, tmp_path_factory.mktemp("hydra")) as provider:
            yield provider
    except ClusterError as error:
        pytest.fail(f"Ory Hydra did not start: {error}", pytrace=False)


@pytest.fixture(scope="session")
def other_hydra(hydra_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hydra]:
    """A second, unrelated provider: another issuer with keys of its own."""
    try:
        with running_hydra(hydra_binary, tmp_path_factory.mktemp("other-hydra")) as provider:
            yield provider
    except ClusterError as error:
        pytest.fail(f"the second Ory Hydra did not start: {error}", pytrace=False)


@contextlib.asynccontextmanager
async def serve_with_oauth(kubeconfig: str, issuer: str, **settings: str) -> AsyncIterator[OAuthServer]:
    """Run `k3s-mcp-server --transport http` on 127.0.0.1 with K3S_MCP_OAUTH_ISSUER=`issuer` and the other
    `settings` (environment variable names to values); yields its URLs."""
    port = free_port()
    command = [SERVER_PROGRAM, "--transport", "http", "--host", "127.0.0.1", "--port", str(port)]
    env = server_env(kubeconfig, K3S_MCP_OAUTH_ISSUER=issuer, K3S_SCALE_WAIT_SECONDS="90", **settings)
    async with serve_program(command, env, port, within=30):
        base_url = f"http://127.0.0.1:{port}"
        yield OAuthServer(url=f"{base_url}/mcp", base_url=base_url)


@pytest.fixture(scope="session")
async def oauth_server(kubeconfig: str, hydra: Hydra) -> AsyncIterator[OAuthServer]:
    """One server for the session that trusts `hydra`, with the default audience (its own MCP URL)."""
    async with serve_with_oauth(kubeconfig, hydra.issuer) as server:
        yield server


def client_for(
    hydra: Hydra, server: OAuthServer, *scopes: str, access_token_lifespan: str | None = None
) -> OAuthClient:
    """A Hydra client that may get tokens for `server` (its MCP URL as audience) with `scopes`."""
    return hydra.create_client(scopes=scopes, audience=[server.url], access_token_lifespan=access_token_lifespan)
