"""How far a model tier's pick is borne out by the request itself and by the stored requests nearest it.

A small model's self-reported confidence says nothing (Qwen2.5-Coder-0.5B answers 0.9 to everything, small
talk included), so tiers 3 and 4 replace it with evidence the activator can check:

- the request names the tool's subject: a word of the tool's name or of its kind ("ingress", "secrets",
  "replicas"), so "what's the weather in Lisbon" does not back get_pods;
- tier 2's nearest stored request goes to the same tool, so the embedding agrees with the model;
- the nearest stored request is small talk (the "none" utterances) and the request names nothing of the tool,
  which makes the pick a refusal rather than a call.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from cortex.activator.catalog import ToolSpec
from cortex.activator.learning import NO_ROUTE, RouteHit
from cortex.activator.vocabulary import vocabulary

# Words of a tool name that say what it does, not what it is about.
_VERBS = frozenset({"get", "apply", "create", "from", "list", "set", "to"})
# Required parameters whose name says nothing about the request (every tool has a name or a namespace).
_GENERIC_PARAMETERS = frozenset({"name", "namespace", "kind", "data", "values", "string", "target", "max", "type"})
# Words a request uses for a tool's subject that are neither its name nor a kind word.
_SYNONYMS: dict[str, frozenset[str]] = {
    "logs": frozenset({"log", "logs", "output", "stdout", "stderr"}),
    "top": frozenset({"cpu", "memory", "usage", "busiest", "hungry", "consuming"}),
    "events": frozenset({"event", "events", "warnings"}),
    "rollout": frozenset({"rollout", "rolling", "deploy", "deployed"}),
    "scale": frozenset({"scale", "replicas", "replica", "instances", "copies"}),
    "restart": frozenset({"restart", "restarts", "bounce", "recycle", "reboot"}),
    "describe": frozenset({"describe", "details", "detail", "conditions"}),
    "helm": frozenset({"helm", "chart", "charts", "release", "releases"}),
    "keda": frozenset({"keda", "scaler", "scalers", "scaledobject", "scaledjob"}),
    "execute": frozenset({"exec", "execute", "run", "command", "shell"}),
}

# Calibrated levels, checked against the labelled set in `make bench` (bench/activator.py).
BOTH = 0.9
NAMED = 0.75
NAMED_BESIDE_SMALL_TALK = 0.55
AGREED = 0.6
UNSUPPORTED = 0.3
REFUSAL = 0.9


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z][a-z0-9]*", text.lower()))


def _stem(word: str) -> str:
    """The singular of a plural word, roughly: "ingresses" -> "ingress", "events" -> "event", "status" stays."""
    if word.endswith("sses"):
        return word[:-2]
    if word.endswith(("ss", "us")) or not word.endswith("s") or len(word) < 4:
        return word
    return word[:-1]


def subject_words(spec: ToolSpec) -> frozenset[str]:
    """Words that, found in a request, say it is about this tool's subject."""
    kinds = vocabulary().kinds
    tokens = {t for t in spec.name.lower().split("_") if t and t not in _VERBS}
    tokens |= {
        token
        for parameter in spec.required
        for token in parameter.lower().split("_")
        if token not in _GENERIC_PARAMETERS and len(token) >= 3
    }
    words: set[str] = set()
    for token in tokens:
        words |= {token, _stem(token)}
        words |= _SYNONYMS.get(token, frozenset())
        kind = kinds.get(token) or kinds.get(_stem(token))
        if kind is not None:
            words |= {word for word, other in kinds.items() if other == kind}
    return frozenset(words)


def names_subject(query: str, spec: ToolSpec) -> bool:
    request = _words(query)
    return bool((request | {_stem(w) for w in request}) & subject_words(spec))


@dataclass(frozen=True)
class Support:
    """The confidence a model pick earns, whether it is really a refusal, and why (for the decision's reason)."""

    confidence: float
    refuse: bool
    why: str


def nearest_is_small_talk(nearest: Sequence[RouteHit]) -> bool:
    return bool(nearest) and nearest[0].route == NO_ROUTE


def support(query: str, spec: ToolSpec, nearest: Sequence[RouteHit]) -> Support:
    """The evidence for routing `query` to `spec`; `nearest` are tier 2's stored requests, best first."""
    named = names_subject(query, spec)
    routes = [hit.route for hit in nearest if hit.route != NO_ROUTE]
    agreed = bool(routes) and routes[0] == spec.name
    small_talk = nearest_is_small_talk(nearest)
    if small_talk and not named:
        return Support(
            REFUSAL,
            True,
            f"not an operation: nearest stored request {nearest[0].text!r} is small talk and the request names "
            f"nothing {spec.name} is about",
        )
    if named and agreed:
        return Support(BOTH, False, "request names the tool's subject and the nearest stored request agrees")
    if named:
        level = NAMED_BESIDE_SMALL_TALK if small_talk else NAMED
        return Support(level, False, "request names the tool's subject")
    if agreed:
        return Support(AGREED, False, "the nearest stored request goes to the same tool")
    return Support(UNSUPPORTED, False, "neither the request nor a similar stored one backs the pick")


def refusal(query: str, offered: Sequence[ToolSpec], nearest: Sequence[RouteHit]) -> Support:
    """A model's "not an operation": final unless the request plainly names an offered tool's subject."""
    named = [spec.name for spec in offered if names_subject(query, spec)]
    if named and not nearest_is_small_talk(nearest):
        return Support(UNSUPPORTED, True, f"model saw no operation, but the request names {named[0]}'s subject")
    return Support(REFUSAL, True, "not an operation")
