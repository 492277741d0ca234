"""What the activator presents to an OAuth provider's token endpoint, read from its settings.

Plain data and checks, without an HTTP client, so reading the settings stays cheap; :mod:`cortex.mcp_oauth`
does the requests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from k3s_mcp.bind_rules import is_loopback

# A token is renewed this long before its `expires_in` runs out, so a call never carries one that lapses in flight.
RENEW_MARGIN_SECONDS = 30.0


def check_token_url(url: str, setting: str) -> str:
    """`url` if it is an https URL, or http on a loopback host; else ValueError naming `setting`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{setting} {url!r} is not an http(s) URL")
    if parts.username or parts.password:
        raise ValueError(f"{setting} must not carry credentials in the URL; the client secret is sent separately")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError(f"{setting} must be https (plain http is allowed only to a loopback address): {url!r}")
    return url


@dataclass(frozen=True)
class ClientCredentials:
    """What the activator presents at the token endpoint, and what it asks for."""

    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...] = ()
    audience: tuple[str, ...] = ()

    def form(self) -> dict[str, str]:
        form = {"grant_type": "client_credentials"}
        if self.scopes:
            form["scope"] = " ".join(self.scopes)
        if self.audience:
            # The `audience` parameter (Hydra, Keycloak, Auth0) names the resource server the token is for.
            form["audience"] = " ".join(self.audience)
        return form


@dataclass(frozen=True)
class AccessToken:
    """A token and when to stop using it: the renew margin before it expires, or a fifth of a short lifetime."""

    value: str = field(repr=False)
    issued_at: float = 0.0
    lifetime: float = 3600.0

    @property
    def renew_at(self) -> float:
        return self.issued_at + self.lifetime - min(RENEW_MARGIN_SECONDS, self.lifetime / 5)

    def fresh(self, now: float) -> bool:
        return now < self.renew_at


def scopes_of(text: str | Sequence[str]) -> tuple[str, ...]:
    """Scopes from a space- or comma-separated setting."""
    items = text.replace(",", " ").split() if isinstance(text, str) else list(text)
    return tuple(dict.fromkeys(item.strip() for item in items if item.strip()))
