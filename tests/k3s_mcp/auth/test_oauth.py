"""k3s-mcp-server over HTTP as an OAuth 2.1 resource server of a real Ory Hydra: metadata, 401s, scopes."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import time
from typing import Any

import httpx
import pytest
from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport
from joserfc import jwk, jwt

from devcluster.api import ClusterAPI, deployment
from devcluster.hydra import Hydra
from k3s_mcp.http_auth import http_auth_provider
from k3s_mcp.http_oauth import IssuerJWTVerifier, ProtectedResource
from k3s_mcp.middleware.scopes import SCOPE_DESTRUCTIVE, SCOPE_READ, SCOPE_WRITE
from k3s_mcp.settings import Settings
from tests.k3s_mcp.auth.conftest import ALL_SCOPES, OAuthServer, client_for, serve_with_oauth
from tests.k3s_mcp.conftest import SERVER_PROGRAM, call, call_error, create, serve_with_token, server_env
from tests.processes import free_port

pytestmark = pytest.mark.cluster

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
STATIC_TOKEN = "k3s-mcp-static-token-8c41d2a7f0"


def bearer_client(server: OAuthServer, token: str) -> Client[Any]:
    """A real MCP client of `server` that sends `token` as its bearer token."""
    return Client(StreamableHttpTransport(server.url, headers={"Authorization": f"Bearer {token}"}))


async def initialize(url: str, token: str | None) -> httpx.Response:
    """The answer to an MCP initialize request sent with `token` (None: without Authorization)."""
    headers = dict(MCP_HEADERS) if token is None else {**MCP_HEADERS, "Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.post(url, json=INITIALIZE, headers=headers)


def assert_refused(answer: httpx.Response, server: OAuthServer) -> None:
    """401 with a Bearer challenge that points at the server's protected resource metadata."""
    assert answer.status_code == 401, (answer.status_code, answer.text[:300])
    challenge = answer.headers.get("www-authenticate", "")
    assert challenge.startswith("Bearer"), challenge
    assert f'resource_metadata="{server.base_url}/.well-known/oauth-protected-resource/mcp"' in challenge, challenge


def claims_of(token: str) -> dict[str, Any]:
    """The payload of a JWT, read without verifying it."""
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded


def header_of(token: str) -> dict[str, Any]:
    part = token.split(".")[0]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


async def test_protected_resource_metadata_names_the_issuer(oauth_server: OAuthServer, hydra: Hydra) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        for path in ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"):
            answer = await http.get(f"{oauth_server.base_url}{path}")
            assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
            metadata = answer.json()
            assert metadata["resource"] == oauth_server.url, metadata
            assert metadata["authorization_servers"] == [hydra.issuer], metadata
            assert metadata["scopes_supported"] == list(ALL_SCOPES), metadata
            assert metadata["bearer_methods_supported"] == ["header"], metadata


async def test_a_request_without_a_token_gets_401_with_the_metadata_url(oauth_server: OAuthServer) -> None:
    assert_refused(await initialize(oauth_server.url, None), oauth_server)
    assert_refused(await initialize(oauth_server.url, "not-a-jwt"), oauth_server)


async def test_read_scope_lists_pods_and_cannot_scale(
    oauth_server: OAuthServer, hydra: Hydra, namespace: str, cluster_api: ClusterAPI
) -> None:
    create(cluster_api, f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment("web", replicas=1))
    token = hydra.fetch_token(client_for(hydra, oauth_server, SCOPE_READ))
    assert claims_of(token)["scp"] == [SCOPE_READ]
    async with bearer_client(oauth_server, token) as client:
        names = {tool.name for tool in await client.list_tools()}
        assert {"get_pods", "get_deployments", "call_tool", "enable_toolset"} <= names
        assert "scale_deployment" not in names and "restart_pod" not in names, sorted(names)
        # Disclosure shows the token only what its scopes reach, and call_tool is no way around them.
        enabled = await call(client, "enable_toolset", {"toolsets": ["contexts", "deployments"]})
        assert "list_contexts" in {tool["name"] for tool in enabled["tools"]}
        assert "scale_deployment" not in {tool["name"] for tool in enabled["tools"]}
        names = {tool.name for tool in await client.list_tools()}
        assert "list_contexts" in names and "scale_deployment" not in names, sorted(names)
        pods = await call(client, "get_pods", {"namespace": namespace})
        assert "count" in pods, pods
        arguments = {"name": "web", "replicas": 3, "namespace": namespace}
        refusal = await call_error(client, "scale_deployment", arguments)
        dispatched = await call_error(client, "call_tool", {"name": "scale_deployment", "arguments": arguments})
    assert (
        refusal
        == dispatched
        == (
            "Tool 'scale_deployment' needs the OAuth scope 'k3s:write', which your access token lacks "
            "(it grants: k3s:read)."
        )
    )
    status, answer = cluster_api.request("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/web")
    assert status == 200 and answer["spec"]["replicas"] == 1, answer


async def test_write_scope_scales_a_deployment_but_lists_no_destructive_tool(
    oauth_server: OAuthServer, hydra: Hydra, namespace: str, cluster_api: ClusterAPI
) -> None:
    create(cluster_api, f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment("web", replicas=1))
    token = hydra.fetch_token(client_for(hydra, oauth_server, SCOPE_WRITE))
    async with bearer_client(oauth_server, token) as client:
        names = {tool.name for tool in await client.list_tools()}
        assert {"get_pods", "scale_deployment", "apply_manifest"} <= names
        assert "restart_pod" not in names and "execute_command" not in names, sorted(names)
        await call(client, "scale_deployment", {"name": "web", "replicas": 2, "namespace": namespace, "wait": False})
        refusal = await call_error(client, "restart_pod", {"name": "nothing-here", "namespace": namespace})
    assert "needs the OAuth scope 'k3s:destructive'" in refusal, refusal
    status, answer = cluster_api.request("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/web")
    assert status == 200 and answer["spec"]["replicas"] == 2, answer


async def test_destructive_scope_lists_every_tool(oauth_server: OAuthServer, hydra: Hydra) -> None:
    token = hydra.fetch_token(client_for(hydra, oauth_server, SCOPE_DESTRUCTIVE))
    async with bearer_client(oauth_server, token) as client:
        names = {tool.name for tool in await client.list_tools()}
    assert {"get_pods", "scale_deployment", "restart_pod", "execute_command"} <= names


async def test_a_token_signed_by_another_key_gets_401(oauth_server: OAuthServer, hydra: Hydra) -> None:
    genuine = hydra.fetch_token(client_for(hydra, oauth_server, SCOPE_READ))
    assert (await initialize(oauth_server.url, genuine)).status_code == 200
    # The same header (Hydra's key id) and claims, signed by a key Hydra never published.
    foreign_key = jwk.RSAKey.generate_key(2048)
    forged = jwt.encode(header_of(genuine), claims_of(genuine), foreign_key, algorithms=["RS256"])
    assert claims_of(forged) == claims_of(genuine) and forged != genuine
    assert_refused(await initialize(oauth_server.url, forged), oauth_server)


async def test_an_expired_token_gets_401(oauth_server: OAuthServer, hydra: Hydra) -> None:
    client = client_for(hydra, oauth_server, SCOPE_READ, access_token_lifespan="3s")
    token = hydra.fetch_token(client)
    claims = claims_of(token)
    assert claims["exp"] - claims["iat"] == 3, claims
    assert (await initialize(oauth_server.url, token)).status_code == 200
    await asyncio.sleep(max(0.0, claims["exp"] - time.time()) + 1.5)
    assert_refused(await initialize(oauth_server.url, token), oauth_server)


async def test_a_token_for_another_audience_gets_401(oauth_server: OAuthServer, hydra: Hydra) -> None:
    elsewhere = "https://another-resource.example/mcp"
    client = hydra.create_client(scopes=[SCOPE_DESTRUCTIVE], audience=[elsewhere])
    token = hydra.fetch_token(client)
    assert claims_of(token)["aud"] == [elsewhere]
    assert_refused(await initialize(oauth_server.url, token), oauth_server)


async def test_a_token_of_another_issuer_gets_401(oauth_server: OAuthServer, hydra: Hydra, other_hydra: Hydra) -> None:
    token = other_hydra.fetch_token(client_for(other_hydra, oauth_server, SCOPE_DESTRUCTIVE))
    assert claims_of(token)["iss"] == other_hydra.issuer != hydra.issuer
    assert_refused(await initialize(oauth_server.url, token), oauth_server)


async def test_the_issuer_is_checked_even_when_the_signature_verifies(
    kubeconfig: str, hydra: Hydra, other_hydra: Hydra
) -> None:
    # Both servers take their keys from the second provider, so its tokens verify; only the issuer differs.
    audience = "k3s-mcp-issuer-check"
    token = other_hydra.fetch_token(other_hydra.create_client(scopes=[SCOPE_READ], audience=[audience]))
    keys = {"K3S_MCP_OAUTH_JWKS_URL": other_hydra.jwks_url, "K3S_MCP_OAUTH_AUDIENCE": audience}
    async with serve_with_oauth(kubeconfig, other_hydra.issuer, **keys) as trusting:
        assert (await initialize(trusting.url, token)).status_code == 200
    async with serve_with_oauth(kubeconfig, hydra.issuer, **keys) as expecting_another_issuer:
        assert_refused(await initialize(expecting_another_issuer.url, token), expecting_another_issuer)


async def test_static_token_mode_still_works_without_scopes(kubeconfig: str) -> None:
    async with serve_with_token(kubeconfig, STATIC_TOKEN) as url:
        answer = await initialize(url, None)
        assert answer.status_code == 401
        assert "resource_metadata" not in answer.headers.get("www-authenticate", "")
        async with Client(StreamableHttpTransport(url, headers={"Authorization": f"Bearer {STATIC_TOKEN}"})) as client:
            names = {tool.name for tool in await client.list_tools()}
            assert {"get_pods", "scale_deployment", "restart_pod"} <= names
            nodes = await call(client, "get_nodes")
            assert nodes["count"] >= 1


def test_the_static_token_and_oauth_together_refuse_to_start(kubeconfig: str, hydra: Hydra) -> None:
    port = free_port()
    result = subprocess.run(
        [SERVER_PROGRAM, "--transport", "http", "--host", "127.0.0.1", "--port", str(port)],
        env=server_env(kubeconfig, K3S_MCP_AUTH_TOKEN=STATIC_TOKEN, K3S_MCP_OAUTH_ISSUER=hydra.issuer),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "K3S_MCP_AUTH_TOKEN and K3S_MCP_OAUTH_ISSUER are both set" in lines[0]


def test_oauth_counts_as_a_token_for_a_non_loopback_bind(hydra: Hydra) -> None:
    settings = Settings(oauth_issuer=hydra.issuer, resource_url="https://k3s-mcp.example.com")
    provider = http_auth_provider(settings, "0.0.0.0", 8000, "/mcp")
    assert isinstance(provider, ProtectedResource)
    verifier = provider.token_verifier
    assert isinstance(verifier, IssuerJWTVerifier)
    # The key set comes from the issuer's discovery document, the audience from the public URL.
    assert verifier.jwks_uri == hydra.discovery()["jwks_uri"]
    assert verifier.audience == ["https://k3s-mcp.example.com/mcp"]


def test_oauth_on_an_unspecified_bind_needs_the_resource_url(kubeconfig: str, hydra: Hydra) -> None:
    port = free_port()
    result = subprocess.run(
        [SERVER_PROGRAM, "--transport", "http", "--host", "0.0.0.0", "--port", str(port)],
        env=server_env(kubeconfig, K3S_MCP_OAUTH_ISSUER=hydra.issuer),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "needs K3S_MCP_RESOURCE_URL" in result.stderr and "Traceback" not in result.stderr


def test_an_issuer_other_than_the_discovered_one_refuses_to_start(kubeconfig: str, hydra: Hydra) -> None:
    # Hydra's issuer ends in '/'; without it no token's `iss` would ever match, so the server says so at start.
    assert hydra.issuer.endswith("/")
    port = free_port()
    result = subprocess.run(
        [SERVER_PROGRAM, "--transport", "http", "--host", "127.0.0.1", "--port", str(port)],
        env=server_env(kubeconfig, K3S_MCP_OAUTH_ISSUER=hydra.issuer.rstrip("/")),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert f"differs from the issuer {hydra.issuer!r} its OpenID configuration names" in result.stderr, result.stderr
