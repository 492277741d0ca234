"""Tier 1's network rules (data/unifi_rules.yaml): plain network requests become UniFi layer calls, MAC checked."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from cortex.activator.decision import Tier
from cortex.activator.yaml_file import load_yaml
from cortex.layers import names
from cortex.layers.unifi_model import normalize_mac

if TYPE_CHECKING:
    # The layer client (httpx, the layer service) loads when a network request matches, not with tier 1.
    from cortex.layers.client import DispatchResult, LayerCall, LayerDispatcher

UNIFI_RULES_PATH = Path(__file__).parent.parent / "data" / "unifi_rules.yaml"

# Anything shaped like a MAC, valid or not, so a mistyped one is reported instead of silently ignored.
MAC_CANDIDATE = re.compile(
    r"(?<![0-9a-z])(?<![0-9a-z][:.-])"
    r"(?:[0-9a-z]{1,2}(?:[:-][0-9a-z]{1,2}){3,7}|[0-9a-z]{4}\.[0-9a-z]{4}\.[0-9a-z]{4}|[0-9a-f]{12})"
    r"(?![0-9a-z]|[:.-][0-9a-z])",
    re.IGNORECASE,
)


class UnifiRequestError(ValueError):
    """A request clearly meant for the network layers that cannot be run as written (bad or missing MAC)."""


class UnifiRuleFileError(ValueError):
    """The network rules file is malformed; the message names the rule and the problem."""


@dataclass(frozen=True)
class NetworkRule:
    """A route as data: words that must all appear, words of which one must appear, words that must not."""

    route: str
    layer: str
    action: str
    all_of: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()
    none_of: tuple[str, ...] = ()
    needs_mac: bool = False
    # Without any MAC the request is left to the other routes instead of being refused.
    passes_without_mac: bool = False
    requires_confirmation: bool = False

    def matches(self, words: set[str]) -> bool:
        return (
            all(word in words for word in self.all_of)
            and (not self.any_of or any(word in words for word in self.any_of))
            and not any(word in words for word in self.none_of)
        )


def _words(rule: str, entry: dict[str, Any], key: str) -> tuple[str, ...]:
    words = entry.get(key) or []
    if not isinstance(words, list) or not all(isinstance(word, str) for word in words):
        raise UnifiRuleFileError(f"network rule {rule!r}: {key} must be a list of words")
    return tuple(words)


def load_unifi_rules(path: Path) -> tuple[NetworkRule, ...]:
    """Read the rules file; raise UnifiRuleFileError naming the bad rule."""
    try:
        document = load_yaml(path) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UnifiRuleFileError(f"cannot read network rules from {path}: {exc}") from exc
    rules: list[NetworkRule] = []
    for index, entry in enumerate(document.get("rules") or []):
        route = str(entry.get("route") or f"network-rule-{index}")
        layer, action = entry.get("layer"), entry.get("action")
        if layer not in names.SERVED_LAYERS or not action:
            raise UnifiRuleFileError(
                f"network rule {route!r} needs an action and a layer among {', '.join(names.SERVED_LAYERS)}"
            )
        without_mac = entry.get("without_mac", "refuse")
        if without_mac not in ("refuse", "pass"):
            raise UnifiRuleFileError(f"network rule {route!r}: without_mac is 'refuse' or 'pass'")
        rules.append(
            NetworkRule(
                route=route,
                layer=str(layer),
                action=str(action),
                all_of=_words(route, entry, "all_of"),
                any_of=_words(route, entry, "any_of"),
                none_of=_words(route, entry, "none_of"),
                needs_mac=bool(entry.get("needs_mac", False)),
                passes_without_mac=without_mac == "pass",
                requires_confirmation=bool(entry.get("requires_confirmation", False)),
            )
        )
    return tuple(rules)


@lru_cache(maxsize=1)
def packaged_unifi_rules() -> tuple[NetworkRule, ...]:
    return load_unifi_rules(UNIFI_RULES_PATH)


@dataclass(frozen=True)
class UnifiMatch:
    """A matched request: the route name for learning and telemetry, and the call to dispatch."""

    route: str
    call: LayerCall
    requires_confirmation: bool


def _words_of(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9][a-z0-9-]*", text.lower()))


def match_unifi_request(text: str, rules: tuple[NetworkRule, ...] | None = None) -> UnifiMatch | None:
    """The UniFi layer call `text` asks for, None when it is not a network request.

    Raises UnifiRequestError when a rule that acts on one client or device matches but the MAC is
    missing, malformed, not unicast, or ambiguous (two different MACs).
    """
    words = _words_of(text)
    for rule in packaged_unifi_rules() if rules is None else rules:
        if not rule.matches(words):
            continue
        from cortex.layers.client import LayerCall

        if not rule.needs_mac:
            return UnifiMatch(rule.route, LayerCall(rule.layer, rule.action, {}), rule.requires_confirmation)
        candidates = MAC_CANDIDATE.findall(text)
        if not candidates:
            if rule.passes_without_mac:
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
            requires_confirmation=rule.requires_confirmation,
        )
    return None


async def dispatch_network_request(
    text: str, dispatcher: LayerDispatcher, *, actor: str = "anonymous", confirm: bool = False
) -> DispatchResult | None:
    """Route `text` by the network rules alone and run it; None when it is not a network request.

    UnifiRequestError (bad or missing MAC) propagates so the caller can answer 400 with its message. A restart
    without `confirm` comes back as a 428 response with code `confirmation_required`, and nothing is restarted.
    """
    match = match_unifi_request(text)
    if match is None:
        return None
    return await dispatcher.dispatch(
        match.call, confirm=confirm, actor=actor, text=text, route=match.route, tier=Tier.KEYWORD.value
    )
