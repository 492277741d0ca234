"""The activator's word lists (data/vocabulary.yaml), read once for argument extraction, rules and spelling."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from cortex.activator.yaml_file import load_yaml

VOCABULARY_PATH = Path(__file__).parent / "data" / "vocabulary.yaml"


class VocabularyError(ValueError):
    """The vocabulary file is malformed; the message names the list and the entry."""


@dataclass(frozen=True)
class Vocabulary:
    """Number words, kind words, words that are never names or namespaces, and what the typo corrector fixes."""

    numbers: dict[str, int]
    kinds: dict[str, str]
    not_names: frozenset[str]
    not_namespaces: frozenset[str]
    correctable: frozenset[str]
    real_words: frozenset[str]


def _words(document: dict[str, Any], key: str) -> frozenset[str]:
    entries = document.get(key)
    if not isinstance(entries, list) or not all(isinstance(word, str) and word for word in entries):
        raise VocabularyError(f"{key} must be a list of words (quote words YAML reads otherwise, like 'on')")
    return frozenset(entries)


def _mapping(document: dict[str, Any], key: str, kind: type) -> dict[str, Any]:
    entries = document.get(key)
    if not isinstance(entries, dict) or not all(
        isinstance(word, str) and isinstance(value, kind) for word, value in entries.items()
    ):
        raise VocabularyError(f"{key} must map words to {kind.__name__} values")
    return dict(entries)


def load_vocabulary(path: Path) -> Vocabulary:
    try:
        document = load_yaml(path) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise VocabularyError(f"cannot read the vocabulary from {path}: {exc}") from exc
    return Vocabulary(
        numbers=_mapping(document, "numbers", int),
        kinds=_mapping(document, "kinds", str),
        not_names=_words(document, "not_names"),
        not_namespaces=_words(document, "not_namespaces"),
        correctable=_words(document, "correctable"),
        real_words=_words(document, "real_words"),
    )


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The packaged vocabulary, read on first use."""
    return load_vocabulary(VOCABULARY_PATH)
