"""Access tokens for a k3s-mcp server that is an OAuth resource server: the client-credentials grant.

When k3s-mcp runs with K3S_MCP_OAUTH_ISSUER it accepts only JWT access tokens of that issuer, so the activator
cannot send a shared static token: it is an OAuth client of its own, registered at the provider with the scopes
it may use, and asks the provider's token endpoint for an access token (``grant_type=client_credentials``).

ClientCredentialsAuth is the `httpx2.Auth` the MCP client's HTTP transport carries. It asks for a token on the
first request, reuses it until shortly before it expires (30 s, or a fifth of a shorter lifetime), and asks again
once when the server answers 401 (a token revoked or a key rotated). The token endpoint is configured, not
discovered from the MCP server's metadata: the server under attack must never decide where the client secret is
sent. Errors of the endpoint are raised as TokenEndpointError with what the provider said (``invalid_client``,
``invalid_scope``...).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Generator
from typing import Any

import httpx2

from cortex.oauth_credentials import AccessToken, ClientCredentials

_SHOWN = 300


class TokenEndpointError(RuntimeError):
    """The token endpoint could not be reached, refused the client, or answered something that is not a token."""


def _shown(text: str) -> str:
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."


def _endpoint_refusal(status: int, body: Any, client_id: str) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        detail = body["error"]
        if isinstance(body.get("error_description"), str):
            detail += f": {body['error_description']}"
        return f"the token endpoint refused client {client_id!r} (HTTP {status}, {_shown(detail)})"
    return f"the token endpoint answered HTTP {status} without an OAuth error for client {client_id!r}"


class ClientCredentialsAuth(httpx2.Auth):
    """Bearer tokens from the client-credentials grant, fetched lazily and renewed before they expire."""

    def __init__(self, credentials: ClientCredentials, timeout_seconds: float = 10.0) -> None:
        self.credentials = credentials
        self.timeout_seconds = timeout_seconds
        self._token: AccessToken | None = None
        self._lock = asyncio.Lock()
        self.fetched = 0

    def sync_auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        raise TokenEndpointError("ClientCredentialsAuth works with the asynchronous HTTP client only")
        yield request  # pragma: no cover - makes this a generator, as httpx2.Auth expects

    async def async_auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        token = await self.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            # Revoked, or signed with a key the server no longer trusts: one new token, one retry.
            request.headers["Authorization"] = f"Bearer {await self.token(renew=True, rejected=token)}"
            yield request

    async def token(self, *, renew: bool = False, rejected: str | None = None) -> str:
        """A token that is fresh for at least the renew margin; `renew` replaces `rejected` unless done already."""
        async with self._lock:
            now = time.monotonic()
            current = self._token
            if current is not None and current.fresh(now) and not (renew and current.value == rejected):
                return current.value
            self._token = await self._fetch()
            return self._token.value

    async def _fetch(self) -> AccessToken:
        credentials = self.credentials
        started = time.monotonic()
        try:
            async with httpx2.AsyncClient(timeout=self.timeout_seconds, follow_redirects=False) as http:
                response = await http.post(
                    credentials.token_url,
                    data=credentials.form(),
                    auth=httpx2.BasicAuth(credentials.client_id, credentials.client_secret),
                    headers={"Accept": "application/json"},
                )
        except httpx2.HTTPError as error:
            raise TokenEndpointError(
                f"the token endpoint {credentials.token_url} cannot be reached: {type(error).__name__}: {error}"
            ) from None
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if response.status_code != 200:
            raise TokenEndpointError(_endpoint_refusal(response.status_code, body, credentials.client_id))
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str) or not body["access_token"]:
            raise TokenEndpointError("the token endpoint answered 200 without an access_token")
        token_type = body.get("token_type", "bearer")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise TokenEndpointError(f"the token endpoint issued a {str(token_type)[:40]!r} token, not a bearer token")
        lifetime = body.get("expires_in")
        seconds = float(lifetime) if isinstance(lifetime, int | float) and lifetime > 0 else 3600.0
        self.fetched += 1
        return AccessToken(str(body["access_token"]), issued_at=started, lifetime=seconds)
