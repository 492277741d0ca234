"""Corrects one-letter typos in the operations vocabulary ("lsit pdos" -> "list pods") before routing."""

from __future__ import annotations

import re
from functools import lru_cache

from cortex.activator.vocabulary import vocabulary

# Only command words and kinds are corrected: object names ("web-1") must reach the tools untouched.
VOCABULARY = vocabulary().correctable
_WORD = re.compile(r"(?<![\w./-])[A-Za-z]{4,}(?![\w./-])")


def _within_one_edit(a: str, b: str) -> bool:
    """True when a and b differ by one insertion, deletion, substitution or swap of neighbours."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diffs) == 1:
            return True
        return (
            len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


# Real words one edit away from the vocabulary; they are what the user meant.
KNOWN_WORDS = vocabulary().real_words


def _swapped(a: str, b: str) -> bool:
    diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y] if len(a) == len(b) else []
    return len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]]


@lru_cache(maxsize=4096)
def correct_word(word: str) -> str:
    lowered = word.lower()
    if lowered in VOCABULARY or lowered in KNOWN_WORDS:
        return word
    candidates = [v for v in VOCABULARY if v[0] == lowered[0] or v[-1] == lowered[-1]]
    if len(lowered) == 4:
        # Short words are too often other real words ("last" is not "list"): only swapped letters count.
        matches = [v for v in candidates if _swapped(lowered, v)]
    else:
        matches = [v for v in candidates if _within_one_edit(lowered, v)]
    # A swap or a wrong letter ("nodse") is likelier than a dropped one ("node"), so same length wins.
    same_length = [v for v in matches if len(v) == len(lowered)]
    best = same_length or matches
    return best[0] if len(best) == 1 else word


# Words after these are object or namespace names ("in shop" must not become "in show").
_NAME_BEFORE = re.compile(
    r"(?:\b(?:in|from|of|on|for|to|named|called|namespace|ns|pod|deployment|service|configmap|secret|job|"
    r"scale|resize|restart|bounce|recycle|reboot|describe|inspect|delete|remove)|-n|--namespace)\s+$",
    re.IGNORECASE,
)


def correct_typos(text: str) -> str:
    """The request with each mistyped vocabulary word (4+ letters, one edit away from one word) fixed."""

    def fix(match: re.Match[str]) -> str:
        if _NAME_BEFORE.search(text[: match.start()]):
            return match.group(0)
        return correct_word(match.group(0))

    return _WORD.sub(fix, text)
