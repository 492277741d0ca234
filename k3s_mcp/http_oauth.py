"""k3s-mcp as an OAuth 2.1 resource server over HTTP: JWT access tokens of one issuer, and RFC 9728 metadata.

With K3S_MCP_OAUTH_ISSUER set, every request to the MCP endpoint needs `Authorization: Bearer <JWT>`: the
token's signature is checked against the issuer's JSON Web Key Set, and its `iss`, `aud` and `exp` claims against
the settings. A request without a valid token gets 401 with ``WWW-Authenticate: Bearer ... resource_metadata=...``
pointing at the protected resource metadata (RFC 9728), which names the issuer as the authorization server and
lists the k3s scopes. Which tools a valid token may list and call is decided by its scopes
(:mod:`k3s_mcp.middleware.scopes`).
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastmcp.server.auth import RemoteAuthProvider
from fastmcp.server.auth.providers.jwt import JWTVerifier
from mcp.server.auth.routes import create_protected_resource_routes
from pydantic import AnyHttpUrl
from starlette.routing import Route

from k3s_mcp.middleware.scopes import K3S_SCOPES
from k3s_mcp.settings import Settings

PROTECTED_RESOURCE_METADATA_PATH = "/.well-known/oauth-protected-resource"
DISCOVERY_TIMEOUT_SECONDS = 10.0

logger = logging.getLogger(__name__)


class OAuthSettingsError(ValueError):
    """The OAuth settings contradict each other or the issuer; the message names the setting to change."""


class IssuerJWTVerifier(JWTVerifier):
    """JWT access tokens of one issuer, with the scopes read from the configured claim."""

    def __init__(self, *, scopes_claim: str = "", **options: Any) -> None:
        super().__init__(**options)
        self.scopes_claim = scopes_claim

    def _extract_scopes(self, claims: dict[str, Any]) -> list[str]:
        if not self.scopes_claim:
            return super()._extract_scopes(claims)
        value = claims.get(self.scopes_claim)
        if isinstance(value, str):
            return value.split()
        if isinstance(value, list):
            return [str(scope) for scope in value]
        return []


class ProtectedResource(RemoteAuthProvider):
    """RemoteAuthProvider whose metadata is also served at the root well-known path.

    RFC 9728 (section 3.1) puts the metadata of ``https://host/mcp`` at
    ``/.well-known/oauth-protected-resource/mcp``, which FastMCP serves and names in its 401 challenge; clients
    that look only at ``/.well-known/oauth-protected-resource`` (as the MCP authorization spec lets them when the
    path-suffixed one is missing) find the same document there.
    """

    def get_routes(self, mcp_path: str | None = None) -> list[Route]:
        routes = super().get_routes(mcp_path)
        resource_url = self._get_resource_url(mcp_path)
        if resource_url is not None and all(route.path != PROTECTED_RESOURCE_METADATA_PATH for route in routes):
            root = create_protected_resource_routes(
                resource_url=resource_url,
                authorization_servers=self.authorization_servers,
                scopes_supported=self.scopes_supported,
                resource_name=self.resource_name,
            )
            routes.extend(
                Route(PROTECTED_RESOURCE_METADATA_PATH, route.endpoint, methods=["GET", "OPTIONS"]) for route in root
            )
        return routes


def _entries(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _http_url(value: str, setting: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise OAuthSettingsError(f"{setting}={value!r} is not an http(s) URL.")
    return value


def resource_base_url(settings: Settings, host: str, port: int) -> str:
    """The server's public base URL: K3S_MCP_RESOURCE_URL, else http://<host>:<port> of a specified bind address."""
    if settings.resource_url.strip():
        return _http_url(settings.resource_url.strip().rstrip("/"), "K3S_MCP_RESOURCE_URL")
    name = host.strip().strip("[]")
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(name)
    except ValueError:
        address = None
    if address is not None and address.is_unspecified:
        raise OAuthSettingsError(
            f"Serving OAuth on {host!r} needs K3S_MCP_RESOURCE_URL: the protected resource metadata must name the "
            "URL clients reach this server at (for example 'https://k3s-mcp.example.com')."
        )
    shown = f"[{name}]" if address is not None and address.version == 6 else name
    return f"http://{shown}:{port}"


def discover_jwks_url(issuer: str) -> str:
    """The `jwks_uri` of the issuer's OpenID configuration, or <issuer>/.well-known/jwks.json when it has none.

    Raises OAuthSettingsError when the configuration names another issuer: tokens would then never match.
    """
    fallback = f"{issuer.rstrip('/')}/.well-known/jwks.json"
    url = f"{issuer.rstrip('/')}/.well-known/openid-configuration"
    try:
        response = httpx.get(url, timeout=DISCOVERY_TIMEOUT_SECONDS, follow_redirects=True)
        configuration = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError) as error:
        logger.warning("reading %s failed (%s); using %s as the JWKS URL", url, error, fallback)
        return fallback
    if not isinstance(configuration, dict):
        logger.warning("%s answered %s; using %s as the JWKS URL", url, response.status_code, fallback)
        return fallback
    named = configuration.get("issuer")
    if isinstance(named, str) and named != issuer:
        raise OAuthSettingsError(
            f"K3S_MCP_OAUTH_ISSUER={issuer!r} differs from the issuer {named!r} its OpenID configuration names; "
            "set K3S_MCP_OAUTH_ISSUER to exactly the issuer the provider writes into its tokens."
        )
    jwks_uri = configuration.get("jwks_uri")
    return jwks_uri if isinstance(jwks_uri, str) and jwks_uri else fallback


def oauth_provider(settings: Settings, host: str, port: int, path: str) -> ProtectedResource:
    """The resource server of K3S_MCP_OAUTH_ISSUER for the MCP endpoint at `path` of a server bound to host:port."""
    issuer = _http_url(settings.oauth_issuer.strip(), "K3S_MCP_OAUTH_ISSUER")
    base_url = resource_base_url(settings, host, port)
    audience = _entries(settings.oauth_audience) or [f"{base_url}/{path.lstrip('/')}"]
    jwks_url = (
        _http_url(settings.oauth_jwks_url.strip(), "K3S_MCP_OAUTH_JWKS_URL")
        if settings.oauth_jwks_url.strip()
        else discover_jwks_url(issuer)
    )
    try:
        verifier = IssuerJWTVerifier(
            jwks_uri=jwks_url,
            issuer=issuer,
            audience=audience,
            algorithm=settings.oauth_algorithm.strip(),
            scopes_claim=settings.oauth_scopes_claim.strip(),
        )
    except ValueError as error:
        raise OAuthSettingsError(f"K3S_MCP_OAUTH_ALGORITHM: {error}") from None
    return ProtectedResource(
        token_verifier=verifier,
        authorization_servers=[AnyHttpUrl(issuer)],
        base_url=base_url,
        scopes_supported=list(K3S_SCOPES),
        resource_name="k3s-mcp",
    )
