"""Scores the router on a labelled set: accuracy overall and per answering tier."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cortex.activator.decision import RouteDecision


@dataclass(frozen=True)
class LabelledRequest:
    query: str
    tool: str | None
    arguments: dict[str, Any]


@dataclass
class TierScore:
    answered: int = 0
    correct: int = 0

    @property
    def accuracy(self) -> float:
        return self.correct / self.answered if self.answered else 0.0


@dataclass
class EvaluationReport:
    total: int = 0
    correct: int = 0
    tool_correct: int = 0
    tiers: dict[str, TierScore] = field(default_factory=lambda: defaultdict(TierScore))
    misses: list[dict[str, Any]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def tool_accuracy(self) -> float:
        return self.tool_correct / self.total if self.total else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "accuracy": round(self.accuracy, 4),
            "tool_accuracy": round(self.tool_accuracy, 4),
            "per_tier": {
                tier: {"answered": s.answered, "correct": s.correct, "accuracy": round(s.accuracy, 4)}
                for tier, s in sorted(self.tiers.items())
            },
        }


def load_labelled(path: Path) -> list[LabelledRequest]:
    rows = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("requests") or []
    return [LabelledRequest(str(row[0]), row[1], dict(row[2] or {})) for row in rows]


def matches(expected: LabelledRequest, decision: RouteDecision) -> tuple[bool, bool]:
    """(tool right, tool and every labelled argument right)."""
    if decision.tool != expected.tool:
        return False, False
    for key, value in expected.arguments.items():
        if decision.arguments.get(key) != value:
            return True, False
    return True, True


def score(pairs: list[tuple[LabelledRequest, RouteDecision]]) -> EvaluationReport:
    report = EvaluationReport()
    for expected, decision in pairs:
        tool_ok, ok = matches(expected, decision)
        report.total += 1
        report.tool_correct += tool_ok
        report.correct += ok
        tier = report.tiers[decision.tier.value]
        tier.answered += 1
        tier.correct += ok
        if not ok:
            report.misses.append(
                {
                    "query": expected.query,
                    "expected": [expected.tool, expected.arguments],
                    "got": [decision.tier.value, decision.tool, decision.arguments],
                }
            )
    return report
