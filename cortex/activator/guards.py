"""What a request must say before the activator changes anything (data/guards.yaml).

- `says_action`: a change chosen by similarity or a model must be named by its own verb in the request, so a
  near-miss embedding ("roll back" near "delete") cannot pick a destructive tool.
- `injection`: text that tries to instruct the activator ("ignore previous instructions and ...") is refused
  before any tier, keyword rules included.
- `mass_change`: a change to everything at once ("delete all pods", "wipe the namespace") is never run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from cortex.activator.yaml_file import load_yaml

GUARDS_PATH = Path(__file__).parent / "data" / "guards.yaml"
# A request that opens like a question or a read ("which pods restart all the time") is not a mass change.
_READ_OPENING = re.compile(
    r"^\s*(?:please\s+)?(?:show|list|get|display|which|what|how|are|is|did|does|when|where|who|describe|count)\b",
    re.IGNORECASE,
)


class GuardFileError(ValueError):
    """The guards file is malformed; the message names the entry."""


@dataclass(frozen=True)
class Guards:
    verbs: dict[str, tuple[tuple[str, ...], ...]]
    injection: tuple[re.Pattern[str], ...]
    mass_change: tuple[re.Pattern[str], ...]


def _patterns(document: dict[str, Any], key: str) -> tuple[re.Pattern[str], ...]:
    entries = document.get(key)
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        raise GuardFileError(f"{key} must be a list of regular expressions")
    try:
        return tuple(re.compile(entry, re.IGNORECASE) for entry in entries)
    except re.error as exc:
        raise GuardFileError(f"{key}: {exc}") from exc


def load_guards(path: Path) -> Guards:
    try:
        document = load_yaml(path) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise GuardFileError(f"cannot read the guards from {path}: {exc}") from exc
    verbs = document.get("verbs")
    if not isinstance(verbs, dict) or not all(
        isinstance(tool, str) and isinstance(words, list) and words and all(isinstance(w, str) for w in words)
        for tool, words in verbs.items()
    ):
        raise GuardFileError("verbs must map each tool to a list of words")
    return Guards(
        verbs={tool: tuple(tuple(w.lower().split()) for w in words) for tool, words in verbs.items()},
        injection=_patterns(document, "injection"),
        mass_change=_patterns(document, "mass_change"),
    )


@lru_cache(maxsize=1)
def guards() -> Guards:
    """The packaged guards, read on first use."""
    return load_guards(GUARDS_PATH)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", text.lower())


def _contains(words: list[str], phrase: tuple[str, ...]) -> bool:
    size = len(phrase)
    return any(tuple(words[i : i + size]) == phrase for i in range(len(words) - size + 1))


def action_verbs(tool: str) -> tuple[str, ...]:
    """The words of `tool`'s action, as written in guards.yaml; empty for a tool that only reads."""
    return tuple(" ".join(phrase) for phrase in guards().verbs.get(tool, ()))


def says_action(tool: str, text: str) -> bool:
    """Whether the request names `tool`'s action. A tool without listed verbs never passes: ask only about tools
    that change something, and a new changing tool stays unreachable from tiers 2-4 until its verbs are listed."""
    phrases = guards().verbs.get(tool)
    if not phrases:
        return False
    words = _words(text)
    return any(_contains(words, phrase) for phrase in phrases)


def injection(text: str) -> str | None:
    """The part of the request that tries to instruct the activator, or None."""
    for pattern in guards().injection:
        match = pattern.search(text)
        if match:
            return match.group(0)
    return None


def mass_change(text: str) -> str | None:
    """The part of the request that asks for a change to everything at once, or None."""
    if _READ_OPENING.match(text):
        return None
    for pattern in guards().mass_change:
        match = pattern.search(text)
        if match:
            return match.group(0)
    return None
