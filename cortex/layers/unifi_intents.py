"""Keyword rules that turn plain network requests into UniFi layer calls, MAC extracted and validated."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cortex.layers.client import DispatchResult, LayerCall, LayerDispatcher
from cortex.layers.unifi_model import normalize_mac

# Anything shaped like a MAC, valid or not, so a mistyped one is reported instead of silently ignored.
MAC_CANDIDATE = re.compile(
    r"(?<![0-9a-z])(?<![0-9a-z][:.-])"
    r"(?:[0-9a-z]{1,2}(?:[:-][0-9a-z]{1,2}){3,7}|[0-9a-z]{4}\.[0-9a-z]{4}\.[0-9a-z]{4}|[0-9a-f]{12})"
    r"(?![0-9a-z]|[:.-][0-9a-z])",
    re.IGNORECASE,
)


class UnifiRequestError(ValueError):
    """A request clearly meant for the network layers that cannot be run as written (bad or missing MAC)."""


@dataclass(frozen=True)
class KeywordRule:
    """A route as data: words that must all appear, words of which one must appear, words that must not."""

    route: str
    layer: str
    action: str
    all_of: tuple[str, ...]
    any_of: tuple[str, ...] = ()
    none_of: tuple[str, ...] = ()
    needs_mac: bool = False

    def matches(self, words: set[str]) -> bool:
        return (
            all(word in words for word in self.all_of)
            and (not self.any_of or any(word in words for word in self.any_of))
            and not any(word in words for word in self.none_of)
        )


_CLIENT_WORDS = ("client", "clients", "station", "mac", "device", "phone", "laptop")
_DEVICE_WORDS = ("device", "devices", "ap", "access", "switch", "gateway", "unifi", "mac")

# Checked in order: the first match wins, so the narrower rules (unblock before block) come first.
UNIFI_KEYWORD_RULES: tuple[KeywordRule, ...] = (
    KeywordRule("unifi.unblock_client", "unifi-api", "unblock_client", ("unblock",), _CLIENT_WORDS, needs_mac=True),
    KeywordRule(
        "unifi.block_client",
        "unifi-api",
        "block_client",
        ("block",),
        _CLIENT_WORDS,
        ("unblock",),
        needs_mac=True,
    ),
    KeywordRule(
        "unifi.restart_device",
        "unifi-api",
        "restart_device",
        (),
        ("restart", "reboot", "power-cycle"),
        ("pod", "pods", "deployment", "deployments", "statefulset", "daemonset"),
        needs_mac=True,
    ),
    KeywordRule(
        "unifi.device_logs",
        "unifi-ssh",
        "get_logs",
        ("logs",),
        ("unifi", "gateway", "ap", "access", "switch"),
        ("pod", "pods", "container", "deployment"),
    ),
    KeywordRule(
        "unifi.list_clients",
        "unifi-api",
        "list_clients",
        (),
        ("clients", "wifi", "wi-fi", "wireless"),
        ("pod", "pods", "mcp", "block", "unblock"),
    ),
    KeywordRule(
        "unifi.list_devices",
        "unifi-api",
        "list_devices",
        ("devices",),
        ("unifi", "network", "access", "aps"),
        ("pod", "pods", "restart", "reboot"),
    ),
)


@dataclass(frozen=True)
class UnifiMatch:
    """A matched request: the route name for learning and telemetry, and the call to dispatch."""

    route: str
    call: LayerCall
    requires_confirmation: bool


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9][a-z0-9-]*", text.lower()))


def match_unifi_request(text: str) -> UnifiMatch | None:
    """The UniFi layer call `text` asks for, None when it is not a network request.

    Raises UnifiRequestError when a rule that acts on one client or device matches but the MAC is
    missing, malformed, not unicast, or ambiguous (two different MACs).
    """
    words = _words(text)
    for rule in UNIFI_KEYWORD_RULES:
        if not rule.matches(words):
            continue
        if not rule.needs_mac:
            return UnifiMatch(rule.route, LayerCall(rule.layer, rule.action, {}), False)
        candidates = MAC_CANDIDATE.findall(text)
        if not candidates:
            if rule.action == "restart_device":
                # "restart" alone is also a Kubernetes word; without a MAC leave it to other routes.
                continue
            raise UnifiRequestError(
                f"{rule.action.replace('_', ' ')} needs the MAC address of the client, like aa:bb:cc:dd:ee:ff"
            )
        macs = []
        for candidate in candidates:
            try:
                macs.append(normalize_mac(candidate))
            except ValueError as exc:
                raise UnifiRequestError(str(exc)) from None
        if len(set(macs)) > 1:
            raise UnifiRequestError(
                f"the request names {len(set(macs))} MAC addresses ({', '.join(sorted(set(macs)))}); "
                "name one per request"
            )
        return UnifiMatch(
            rule.route,
            LayerCall(rule.layer, rule.action, {"mac": macs[0]}),
            requires_confirmation=rule.action == "restart_device",
        )
    return None


async def dispatch_network_request(
    text: str, dispatcher: LayerDispatcher, *, actor: str = "anonymous", confirm: bool = False
) -> DispatchResult | None:
    """Route `text` by the UniFi keyword rules and run it; None when it is not a network request.

    The activator calls this before its own tiers. UnifiRequestError (bad or missing MAC) propagates
    so the caller can answer 400 with its message. A restart without `confirm` comes back as a 428
    response with code `confirmation_required`, and nothing is restarted.
    """
    match = match_unifi_request(text)
    if match is None:
        return None
    return await dispatcher.dispatch(
        match.call, confirm=confirm, actor=actor, text=text, route=match.route, tier="keyword"
    )
