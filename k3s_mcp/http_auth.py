"""Bearer-token protection of the HTTP transport, and the rule that a non-loopback bind needs a token.

Two modes, never both: one shared token (K3S_MCP_AUTH_TOKEN), or OAuth 2.1 access tokens of an issuer
(K3S_MCP_OAUTH_ISSUER, :mod:`k3s_mcp.http_oauth`). Either counts as a token for a non-loopback bind.
"""

from __future__ import annotations

import hmac

from fastmcp.server.auth import AccessToken, AuthProvider, TokenVerifier

from k3s_mcp.bind_rules import UnsafeBindError, is_loopback
from k3s_mcp.settings import Settings

TOKEN_CLIENT_ID = "k3s-mcp-token"


class AuthModeError(ValueError):
    """The shared token and OAuth were both configured; only one of them can protect the server."""


class SharedTokenVerifier(TokenVerifier):
    """Accepts exactly one shared bearer token (K3S_MCP_AUTH_TOKEN), compared in constant time."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token.encode()

    async def verify_token(self, token: str) -> AccessToken | None:
        if not hmac.compare_digest(token.encode(), self._token):
            return None
        return AccessToken(token=token, client_id=TOKEN_CLIENT_ID, scopes=[])


def http_token_verifier(settings: Settings, host: str) -> SharedTokenVerifier | None:
    """The verifier for serving HTTP on `host`; refuses a non-loopback host when no token is set."""
    token = settings.auth_token.get_secret_value() if settings.auth_token else ""
    if token.strip():
        return SharedTokenVerifier(token.strip())
    if not is_loopback(host):
        raise UnsafeBindError(
            f"Refusing to serve HTTP on {host!r} without a token: anyone who can reach that address could "
            "manage the cluster. Set K3S_MCP_AUTH_TOKEN to a long random secret (clients send it as "
            "'Authorization: Bearer <token>'), or bind to 127.0.0.1."
        )
    return None


def http_auth_provider(settings: Settings, host: str, port: int, path: str) -> AuthProvider | None:
    """What protects HTTP on host:port (MCP endpoint `path`): OAuth when K3S_MCP_OAUTH_ISSUER is set, else the token.

    Raises AuthModeError when both are set, OAuthSettingsError for contradictory OAuth settings, and
    UnsafeBindError for a non-loopback host with neither.
    """
    if settings.oauth_issuer.strip():
        if settings.auth_token is not None and settings.auth_token.get_secret_value().strip():
            raise AuthModeError(
                "K3S_MCP_AUTH_TOKEN and K3S_MCP_OAUTH_ISSUER are both set; unset one: the shared token and OAuth "
                "access tokens cannot protect the server at the same time."
            )
        from k3s_mcp.http_oauth import oauth_provider

        return oauth_provider(settings, host, port, path)
    return http_token_verifier(settings, host)
