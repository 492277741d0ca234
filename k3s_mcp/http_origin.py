"""Host and Origin validation for the HTTP servers (k3s-mcp-server and `cortex serve`), as pure ASGI middleware.

A web page can reach a server on 127.0.0.1 in two ways: by renaming its own address to 127.0.0.1 (DNS
rebinding; the browser then sends `Host: evil.example`) or by posting to it cross-site (the browser sends
`Origin: https://evil.example`). The guard answers the first with 421 Misdirected Request and the second with
403, before the request reaches the application:

- Host must name this server: a loopback name (127.0.0.0/8, [::1], localhost, with any port), the address the
  server was bound to, or an entry of the allowed-hosts setting. `*` in that setting turns the Host check off
  (for a server behind an Ingress that sets its own Host); Origin is still checked.
- Origin, when the request carries one, must be this server's own origin, name an allowed host (the same list,
  without `*`) or be listed in the allowed-origins setting. A loopback Origin counts as this server's own only
  with the port the request was sent to: a page served by another program on this machine (a dev server on
  localhost:3000, a notebook) is a different site and gets 403 unless its origin is listed.
  Requests without Origin (curl, MCP clients, probes) are not affected.
- `GET /health` is exempt from the Host check only: Kubernetes probes send the pod IP as Host.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from k3s_mcp.bind_rules import is_loopback

ANY_HOST = "*"
HEALTH_PATHS = frozenset({"/health"})
_EXEMPT_METHODS = frozenset({"GET", "HEAD"})
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?"
_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_PORT = re.compile(r"[0-9]{1,5}")
_SHOWN = 80


class HostPolicyError(ValueError):
    """An allowed-hosts or allowed-origins setting holds an entry that is not a host or an origin."""


@dataclass(frozen=True)
class Authority:
    """A parsed `host[:port]`: the host lower-cased, without brackets or a trailing dot; IPs in canonical form."""

    host: str
    port: int | None = None

    def matches(self, other: Authority, default_port: int | None) -> bool:
        """True when `other` (a request's authority) is this allowed entry; an entry without a port allows any."""
        if self.host != other.host:
            return False
        return self.port is None or self.port == (other.port if other.port is not None else default_port)


def parse_authority(value: str) -> Authority | None:
    """`host[:port]` as an HTTP Host header carries it, or None when it is not one (userinfo, spaces, bad port)."""
    text = value.lower()
    if not text or len(text) > 300 or any(ch.isspace() or ord(ch) < 0x21 or ord(ch) > 0x7E for ch in text):
        return None
    port_text: str | None = None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        inside, rest = text[1:end], text[end + 1 :]
        if "%" in inside:
            # A zone id (fe80::1%eth0) names an interface of the client, not this server.
            return None
        try:
            host = str(ipaddress.IPv6Address(inside))
        except ValueError:
            return None
        if rest:
            if not rest.startswith(":"):
                return None
            port_text = rest[1:]
    else:
        if text.count(":") > 1:
            # An IPv6 address must be bracketed in a Host header.
            return None
        host, colon, port_part = text.partition(":")
        if colon:
            port_text = port_part
        if host.endswith(".") and not host.endswith(".."):
            host = host[:-1]
        try:
            host = str(ipaddress.IPv4Address(host))
        except ValueError:
            if len(host) > 253 or not _NAME.fullmatch(host):
                return None
    port: int | None = None
    if port_text is not None:
        if not _PORT.fullmatch(port_text) or not 0 < int(port_text) <= 65535:
            return None
        port = int(port_text)
    return Authority(host, port)


def _entry_authority(entry: str) -> Authority | None:
    """An allowed-hosts entry: `host[:port]` as a Host header writes it, or a bare IPv6 address (a pod IP that
    the chart passes through `$(POD_IP)` comes unbracketed on an IPv6 cluster)."""
    if entry.count(":") > 1 and not entry.startswith("["):
        try:
            return Authority(str(ipaddress.IPv6Address(entry)))
        except ValueError:
            return None
    return parse_authority(entry)


def _bind_authority(bind_host: str) -> Authority | None:
    """The address a server was bound to, as an allowed Host entry; None for the unspecified 0.0.0.0 / ::."""
    name = bind_host.strip().strip("[]").lower()
    if not name:
        return None
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return parse_authority(name)
    if address.is_unspecified:
        return None
    return Authority(str(address))


def _origin_key(origin: str) -> tuple[str, Authority] | None:
    """`scheme://host[:port]` of a web origin, or None when `origin` is not one (`null`, a path, userinfo)."""
    try:
        parts = urlsplit(origin.strip())
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    if "@" in parts.netloc:
        return None
    authority = parse_authority(parts.netloc)
    if authority is None:
        return None
    return scheme, Authority(authority.host, authority.port or _DEFAULT_PORTS[scheme])


def _shown(value: str) -> str:
    """A header value quoted for an error message, cut to a readable length."""
    return json.dumps(value if len(value) <= _SHOWN else value[:_SHOWN] + "...")


@dataclass(frozen=True)
class HostPolicy:
    """Which Host and Origin values one server accepts; built once at start-up by `HostPolicy.build`."""

    hosts: tuple[Authority, ...]
    origins: frozenset[tuple[str, Authority]]
    check_host: bool = True
    hosts_setting: str = "ALLOWED_HOSTS"
    origins_setting: str = "ALLOWED_ORIGINS"
    exempt_paths: frozenset[str] = field(default=HEALTH_PATHS)

    @classmethod
    def build(
        cls,
        bind_host: str,
        allowed_hosts: str | Iterable[str] = "",
        allowed_origins: str | Iterable[str] = "",
        *,
        hosts_setting: str,
        origins_setting: str,
    ) -> HostPolicy:
        """The policy of a server bound to `bind_host`, plus the comma-separated allowed hosts and origins.

        Raises HostPolicyError naming the setting and the entry when an entry is neither `*`, a host[:port]
        nor (for origins) a scheme://host[:port] origin.
        """
        hosts: list[Authority] = []
        check_host = True
        for entry in _entries(allowed_hosts):
            if entry == ANY_HOST:
                check_host = False
                continue
            authority = _entry_authority(entry)
            if authority is None:
                raise HostPolicyError(
                    f"{hosts_setting} entry {_shown(entry)} is not a host name or address with an optional port "
                    "(for example 'k3s-mcp.cortex-system.svc:8000'), nor '*'."
                )
            hosts.append(authority)
        bound = _bind_authority(bind_host)
        if bound is not None:
            hosts.append(bound)
        origins: set[tuple[str, Authority]] = set()
        for entry in _entries(allowed_origins):
            key = _origin_key(entry)
            if key is None:
                raise HostPolicyError(
                    f"{origins_setting} entry {_shown(entry)} is not a web origin of the form "
                    "scheme://host[:port] (for example 'https://ops.example.com')."
                )
            origins.add(key)
        return cls(
            hosts=tuple(hosts),
            origins=frozenset(origins),
            check_host=check_host,
            hosts_setting=hosts_setting,
            origins_setting=origins_setting,
        )

    def host_allowed(self, authority: Authority, default_port: int | None) -> bool:
        """True for a loopback name with any port, the bind address, or an allowed-hosts entry."""
        if is_loopback(authority.host):
            return True
        return any(allowed.matches(authority, default_port) for allowed in self.hosts)

    def host_problem(self, values: list[str], scheme: str) -> str | None:
        """Why the Host header(s) of a request are refused, or None when the request names this server."""
        if not values:
            return f"The request has no Host header, so it cannot be checked against {self.hosts_setting}."
        if len(values) > 1:
            return "The request has more than one Host header."
        authority = parse_authority(values[0])
        if authority is None:
            return f"The Host header {_shown(values[0])} is not a valid host[:port]."
        if not self.host_allowed(authority, _DEFAULT_PORTS.get(scheme)):
            return (
                f"This server does not answer to the Host {_shown(values[0])}; add it to {self.hosts_setting} "
                "if clients reach the server under that name."
            )
        return None

    def origin_allowed(self, key: tuple[str, Authority], request_port: int | None) -> bool:
        """True for a listed origin, this server's own loopback origin, or an allowed (non-loopback) host.

        `request_port` is the port the request was sent to (from its Host header, else the scheme's default).
        A loopback origin on another port is another program's page, so it needs an allowed-origins entry.
        """
        scheme, authority = key
        if key in self.origins:
            return True
        if is_loopback(authority.host):
            return request_port is not None and authority.port == request_port
        return any(allowed.matches(authority, _DEFAULT_PORTS[scheme]) for allowed in self.hosts)

    def origin_problem(self, values: list[str], host: str | None = None, scheme: str = "http") -> str | None:
        """Why the Origin header(s) of a request are refused, or None (also when there is no Origin).

        `host` is the request's Host header, which says which port the request was sent to.
        """
        if not values:
            return None
        if len(values) > 1:
            return "The request has more than one Origin header."
        key = _origin_key(values[0])
        target = parse_authority(host) if host is not None else None
        request_port = None if target is None else (target.port or _DEFAULT_PORTS.get(scheme))
        if key is not None and self.origin_allowed(key, request_port):
            return None
        return (
            f"Requests from the web origin {_shown(values[0])} are refused; add it to {self.origins_setting} "
            "if pages of that site may use this server."
        )


def _entries(value: str | Iterable[str]) -> list[str]:
    parts = value.split(",") if isinstance(value, str) else list(value)
    return [part.strip() for part in parts if part.strip()]


class HostOriginGuard:
    """ASGI middleware: 421 for a Host that does not name this server, 403 for a foreign Origin."""

    def __init__(self, app: ASGIApp, policy: HostPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        hosts: list[str] = []
        origins: list[str] = []
        for name, value in scope.get("headers") or ():
            if name == b"host":
                hosts.append(value.decode("latin-1"))
            elif name == b"origin":
                origins.append(value.decode("latin-1"))
        status, problem = 0, None
        exempt = kind == "http" and scope.get("method") in _EXEMPT_METHODS and scope["path"] in self.policy.exempt_paths
        if self.policy.check_host and not exempt:
            status, problem = 421, self.policy.host_problem(hosts, str(scope.get("scheme") or "http"))
        if problem is None:
            host = hosts[0] if len(hosts) == 1 else None
            status, problem = 403, self.policy.origin_problem(origins, host, str(scope.get("scheme") or "http"))
        if problem is None:
            await self.app(scope, receive, send)
            return
        if kind == "websocket":
            # Closing before accepting makes the server refuse the handshake (HTTP 403).
            await send({"type": "websocket.close", "code": 1008, "reason": problem[:120]})
            return
        body = json.dumps({"error": problem}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
