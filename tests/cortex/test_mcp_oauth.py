"""The activator as an OAuth client of k3s-mcp: client-credentials tokens from a real Ory Hydra, checked by a real
k3s-mcp-server that trusts only that issuer (K3S_MCP_OAUTH_ISSUER). No token is made by hand here."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator

import pytest
from pydantic import ValidationError

from cortex.activator.execution import ToolExecutor
from cortex.activator.settings import ActivatorSettings
from cortex.mcp_adapter import McpUnavailable
from cortex.mcp_oauth import ClientCredentialsAuth, TokenEndpointError
from cortex.oauth_credentials import ClientCredentials
from devcluster.build import build_hydra
from devcluster.hydra import Hydra, running_hydra
from devcluster.messages import ClusterError
from k3s_mcp.middleware.scopes import SCOPE_READ
from tests.k3s_mcp.auth.conftest import ALL_SCOPES, OAuthServer, client_for, serve_with_oauth
from tests.processes import free_port


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hydra]:
    """A real Ory Hydra (built from the pins, cached); a failed build or start fails the tests."""
    try:
        with running_hydra(build_hydra(), tmp_path_factory.mktemp("activator-hydra")) as started:
            yield started
    except ClusterError as error:
        pytest.fail(f"Ory Hydra is not available: {error}", pytrace=False)


@pytest.fixture(scope="module")
async def protected(kubeconfig: str, provider: Hydra) -> AsyncIterator[OAuthServer]:
    """A k3s-mcp-server over HTTP that trusts only `provider`."""
    async with serve_with_oauth(kubeconfig, provider.issuer) as server:
        yield server


def credentials_for(hydra: Hydra, server: OAuthServer, *scopes: str, lifespan: str | None = None) -> ClientCredentials:
    client = client_for(hydra, server, *scopes, access_token_lifespan=lifespan)
    return ClientCredentials(
        token_url=hydra.token_url,
        client_id=client.client_id,
        client_secret=client.client_secret,
        scopes=tuple(scopes),
        audience=(server.url,),
    )


@pytest.fixture
async def executor_for() -> AsyncIterator[list[ToolExecutor]]:
    made: list[ToolExecutor] = []
    yield made
    for executor in made:
        await executor.stop()


async def test_the_activator_calls_k3s_mcp_with_tokens_it_got_itself(
    provider: Hydra, protected: OAuthServer, executor_for: list[ToolExecutor]
) -> None:
    executor = ToolExecutor(protected.url, 30.0, credentials=credentials_for(provider, protected, *ALL_SCOPES))
    executor_for.append(executor)
    await executor.start()
    catalog = await executor.catalog()
    assert {"get_namespaces", "delete_resource"} <= set(catalog.names())
    result = await executor.call("get_namespaces", {})
    assert result.ok, result.error
    assert "kube-system" in str(result.data)


async def test_the_scopes_the_activator_asks_for_limit_what_it_may_run(
    provider: Hydra, protected: OAuthServer, executor_for: list[ToolExecutor]
) -> None:
    executor = ToolExecutor(protected.url, 30.0, credentials=credentials_for(provider, protected, SCOPE_READ))
    executor_for.append(executor)
    await executor.start()
    names = set((await executor.catalog()).names())
    assert "get_namespaces" in names and "delete_resource" not in names and "scale_deployment" not in names


async def test_a_token_is_renewed_before_it_expires(provider: Hydra, protected: OAuthServer) -> None:
    credentials = credentials_for(provider, protected, SCOPE_READ, lifespan="3s")
    auth = ClientCredentialsAuth(credentials)
    first = await auth.token()
    assert await auth.token() == first and auth.fetched == 1
    await asyncio.sleep(3.5)
    executor = ToolExecutor(protected.url, 30.0, credentials=credentials)
    executor.session.auth = auth
    try:
        await executor.start()
        # The first token has expired: a call that succeeds carried a new one.
        assert (await executor.call("get_namespaces", {})).ok
    finally:
        await executor.stop()
    assert auth.fetched >= 2 and await auth.token() != first


async def test_a_wrong_client_secret_is_explained_and_nothing_is_sent(provider: Hydra, protected: OAuthServer) -> None:
    good = credentials_for(provider, protected, SCOPE_READ)
    wrong = ClientCredentials(good.token_url, good.client_id, "not-the-secret", good.scopes, good.audience)
    executor = ToolExecutor(protected.url, 30.0, credentials=wrong)
    with pytest.raises(McpUnavailable) as refused:
        await executor.start()
    message = str(refused.value)
    assert "token endpoint refused client" in message and good.client_id in message and "invalid_client" in message
    assert "not-the-secret" not in message and "Traceback" not in message


async def test_a_token_for_another_audience_is_refused_by_k3s_mcp_with_a_true_reason(
    provider: Hydra, protected: OAuthServer
) -> None:
    client = provider.create_client(scopes=[SCOPE_READ], audience=["https://other.example/mcp"])
    credentials = ClientCredentials(
        provider.token_url, client.client_id, client.client_secret, (SCOPE_READ,), ("https://other.example/mcp",)
    )
    executor = ToolExecutor(protected.url, 30.0, credentials=credentials)
    with pytest.raises(McpUnavailable) as refused:
        await executor.start()
    assert "refused the OAuth access token" in str(refused.value) and "CORTEX_MCP_OAUTH_AUDIENCE" in str(refused.value)


async def test_an_unreachable_token_endpoint_is_named() -> None:
    credentials = ClientCredentials(f"http://127.0.0.1:{free_port()}/oauth2/token", "c", "s")
    with pytest.raises(TokenEndpointError, match="cannot be reached"):
        await ClientCredentialsAuth(credentials, timeout_seconds=2).token()


def test_the_secret_never_shows_in_a_repr() -> None:
    credentials = ClientCredentials("https://id.example/token", "activator", "s3cr3t-value")
    assert "s3cr3t-value" not in repr(credentials)


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"mcp_oauth_token_url": "https://id.example/token"}, "CORTEX_MCP_OAUTH_CLIENT_ID"),
        (
            {
                "mcp_oauth_token_url": "http://id.example/token",
                "mcp_oauth_client_id": "a",
                "mcp_oauth_client_secret": "b",
            },
            "must be https",
        ),
        (
            {
                "mcp_oauth_token_url": "https://u:p@id.example/t",
                "mcp_oauth_client_id": "a",
                "mcp_oauth_client_secret": "b",
            },
            "must not carry credentials",
        ),
        (
            {
                "mcp_oauth_token_url": "https://id.example/t",
                "mcp_oauth_client_id": "a",
                "mcp_oauth_client_secret": "b",
                "mcp_token": "t",
            },
            "not both",
        ),
    ],
)
def test_inconsistent_oauth_settings_are_refused(settings: dict[str, str], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        ActivatorSettings(mcp_url="https://k3s-mcp.example/mcp", **settings)  # type: ignore[arg-type]


def test_oauth_without_a_remote_server_is_refused() -> None:
    with pytest.raises(ValidationError, match="CORTEX_MCP_URL"):
        ActivatorSettings(
            mcp_oauth_token_url="https://id.example/t",
            mcp_oauth_client_id="a",
            mcp_oauth_client_secret="b",  # type: ignore[arg-type]
        )


def test_cortex_serve_stops_at_start_up_on_a_bad_oauth_setting() -> None:
    env = {"CORTEX_MCP_URL": "https://k3s-mcp.example/mcp", "CORTEX_MCP_OAUTH_TOKEN_URL": "https://id.example/t"}
    done = subprocess.run(
        [sys.executable, "-m", "cortex.cli", "serve"],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "CORTEX_MCP_OAUTH_CLIENT_ID" in done.stderr and "Traceback" not in done.stderr
