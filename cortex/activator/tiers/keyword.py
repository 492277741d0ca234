"""Tier 1: the network rules, then regular-expression rules from YAML, compiled once; named groups become arguments."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cortex.activator.arguments import KIND_WORDS, NAME, extract_arguments, is_object_name
from cortex.activator.catalog import ToolCatalog
from cortex.activator.decision import RouteDecision, Tier, TierAnswer
from cortex.activator.tiers.base import Escalation, RouteContext, RouteRequest, TierOutcome
from cortex.activator.tiers.unifi_rules import NetworkRule, UnifiMatch, match_unifi_request, packaged_unifi_rules
from cortex.activator.yaml_file import load_yaml

NAME_GROUPS = frozenset({"name", "pod_name", "release", "cronjob"})


class RuleFileError(ValueError):
    """The rules file is malformed; the message names the rule and the problem."""


@dataclass(frozen=True)
class KeywordRule:
    """One rule: any of its patterns matching routes the request to `tool`."""

    rule_id: str
    tool: str
    patterns: tuple[re.Pattern[str], ...]
    confidence: float
    requires_confirmation: bool


def _compile(rule_id: str, pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern.replace("<NAME>", NAME), re.IGNORECASE)
    except re.error as exc:
        raise RuleFileError(f"rule {rule_id!r}: pattern {pattern!r} is not a valid regex: {exc}") from exc


def load_rules(path: Path) -> list[KeywordRule]:
    """Read and compile the rules file; raise RuleFileError naming the bad rule."""
    try:
        document = load_yaml(path) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise RuleFileError(f"cannot read keyword rules from {path}: {exc}") from exc
    rules: list[KeywordRule] = []
    for index, entry in enumerate(document.get("rules") or []):
        rule_id = str(entry.get("id") or f"rule-{index}")
        tool = entry.get("tool")
        patterns = entry.get("patterns") or []
        if not tool or not patterns:
            raise RuleFileError(f"rule {rule_id!r} needs a tool and at least one pattern")
        rules.append(
            KeywordRule(
                rule_id=rule_id,
                tool=str(tool),
                patterns=tuple(_compile(rule_id, str(p)) for p in patterns),
                confidence=float(entry.get("confidence", 0.9)),
                requires_confirmation=bool(entry.get("requires_confirmation", False)),
            )
        )
    return rules


def network_decision(request: RouteRequest, match: UnifiMatch) -> RouteDecision:
    """The decision for a network request: an action of a UniFi layer, not a k3s_mcp tool."""
    return RouteDecision(
        query=request.original,
        tier=Tier.KEYWORD,
        layer=match.call.layer,
        tool=match.call.action,
        arguments=dict(match.call.params),
        confidence=1.0,
        complexity=request.complexity.score,
        mode=request.complexity.mode,
        requires_confirmation=match.requires_confirmation,
        reason=f"network rule {match.route}",
        route=match.route,
        latency_ms=round((time.perf_counter() - request.started) * 1000, 3),
    )


class KeywordTier:
    """Matches the request against the network rules, then the rules in order; the first match wins."""

    tier = Tier.KEYWORD
    plans = False
    changes_need_consent = False

    def __init__(
        self, rules: list[KeywordRule], catalog: ToolCatalog, network_rules: tuple[NetworkRule, ...] | None = None
    ) -> None:
        # Rules naming a tool the server does not offer are dropped, so a rule can never route to nothing.
        self.rules = [rule for rule in rules if rule.tool in catalog]
        self.skipped = [rule.rule_id for rule in rules if rule.tool not in catalog]
        self.catalog = catalog
        self.network_rules = packaged_unifi_rules() if network_rules is None else network_rules

    async def decide(self, request: RouteRequest, context: RouteContext) -> TierOutcome:
        """Network requests go to the UniFi layers, not to k3s_mcp.

        A bad or missing MAC raises UnifiRequestError, which the caller answers as a bad request.
        """
        network = match_unifi_request(request.query, self.network_rules)
        if network is not None:
            return TierOutcome(decision=network_decision(request, network))
        return TierOutcome(answer=self.answer(request.query), declined=Escalation("no rule matched", "no_match"))

    def answer(self, query: str) -> TierAnswer | None:
        for rule in self.rules:
            for pattern in rule.patterns:
                match = pattern.search(query)
                if match is None:
                    continue
                spec = self.catalog.get(rule.tool)
                assert spec is not None
                groups: dict[str, Any] = {k: v for k, v in match.groupdict().items() if v is not None}
                # "logs from the crashed container" names no pod: let a later pattern or tier decide.
                if any(k in NAME_GROUPS and not is_object_name(v) for k, v in groups.items()):
                    continue
                if "kind" in groups:
                    groups["kind"] = KIND_WORDS.get(groups["kind"].lower(), groups["kind"])
                for key in NAME_GROUPS & set(groups):
                    groups[key] = groups[key].lower()
                arguments = extract_arguments(query, spec, groups)
                return TierAnswer(
                    tool=rule.tool,
                    arguments=arguments,
                    confidence=rule.confidence,
                    reason=f"keyword rule {rule.rule_id}",
                )
        return None

    def requires_confirmation(self, tool: str) -> bool:
        return any(rule.requires_confirmation for rule in self.rules if rule.tool == tool)
