"""A 0-100 complexity score for a request and the mode it falls in (SIMPLE, MODERATE, COMPLEX, EXPERT)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cortex.activator.decision import Mode

# Each signal adds weight; the words were chosen from the labelled set, where a score over 50 means the
# request needs several calls or diagnosis, and over 75 means a change a person must own.
_SIGNALS: tuple[tuple[re.Pattern[str], int, str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), weight, label)
    for pattern, weight, label in (
        (
            r"\b(why|diagnose|debug|troubleshoot|investigate|root cause|figure out|what'?s wrong)\b",
            35,
            "diagnosis",
        ),
        (
            r"\b(crash ?loop\w*|oomkill\w*|failing|keeps? (restarting|dying|crashing)|not starting)\b",
            20,
            "failure",
        ),
        (r"\b(and then|then|after that|afterwards|followed by|once (it|that) is)\b", 50, "multi-step"),
        (r"\b(compare|correlate|across all|every namespace|all namespaces|cluster-?wide)\b", 15, "breadth"),
        (r"\b(delete|remove|drain|cordon|wipe|purge|destroy)\b", 10, "destructive"),
        (
            # Not inside an object name: a Job called migrate-42 is no migration.
            r"(?<![\w-])(migrate|migration|upgrade the cluster|disaster recovery|restore (etcd|the cluster|backup)|"
            r"redesign|re-?architect|rotate (all )?(the )?certificates|multi-?region|failover plan|"
            r"capacity plan\w*|security audit|compliance)(?![\w-])",
            76,
            "expert",
        ),
        (
            r"\b(all|every|everything)\b.*\b(delete|remove|wipe|destroy|purge)\b|"
            r"\b(delete|remove|wipe|destroy|purge)\b.*\b(all|every|everything)\b",
            65,
            "mass-destruction",
        ),
    )
)


@dataclass(frozen=True)
class Complexity:
    """The score, its mode, and the signals that raised it."""

    score: int
    mode: Mode
    signals: tuple[str, ...]


def mode_for(score: int) -> Mode:
    if score <= 25:
        return Mode.SIMPLE
    if score <= 50:
        return Mode.MODERATE
    if score <= 75:
        return Mode.COMPLEX
    return Mode.EXPERT


def score_request(query: str) -> Complexity:
    """Score a request from its wording: length plus weighted signals, capped at 100."""
    words = len(query.split())
    score = min(20, words // 2)
    signals: list[str] = []
    for pattern, weight, label in _SIGNALS:
        if pattern.search(query):
            score += weight
            signals.append(label)
    score = max(0, min(100, score))
    return Complexity(score=score, mode=mode_for(score), signals=tuple(signals))
