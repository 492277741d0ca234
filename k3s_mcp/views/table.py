"""How a list answer reads for a model: a header and tab-separated rows instead of JSON that repeats every key.

A page of 1,000 pods as JSON spends about half its tokens on the same keys again and again. The text block of a
list answer is therefore a table, the way `kubectl get` prints it; the structured content (for programs) keeps
the full typed rows. `K3S_LIST_TEXT=json` restores the JSON text.
"""

from __future__ import annotations

import json
from typing import Any

PAGE_KEYS = ("count", "continue_token", "note")


def flat(value: Any) -> bool:
    """A mapping of scalars, which reads well as k=v pairs."""
    return isinstance(value, dict) and all(
        item is None or isinstance(item, str | int | float) for item in value.values()
    )


def cell(value: Any) -> str:
    """One table cell: scalars as they read, nested values as compact JSON, never a tab or a newline."""
    if value is None:
        text = "-"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str | int | float):
        text = str(value)
    elif isinstance(value, list) and all(isinstance(item, str | int | float) for item in value):
        text = ",".join(str(item) for item in value) or "-"
    elif flat(value):
        text = ",".join(f"{key}={cell(item)}" for key, item in value.items()) or "-"
    elif isinstance(value, list) and all(flat(item) for item in value):
        text = "; ".join(cell(item) for item in value) or "-"
    else:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("\t", " ").replace("\n", " ") or "-"


def row_table(answer: dict[str, Any]) -> str | None:
    """The text of a list answer (`items` of flat rows), or None when the answer is not a list of rows."""
    items = answer.get("items")
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        return None
    others = {key: value for key, value in answer.items() if key != "items"}
    if any(isinstance(value, dict | list) for value in others.values()):
        return None
    columns: list[str] = []
    for item in items:
        columns.extend(key for key in item if key not in columns)
    lines = ["\t".join(column.upper() for column in columns)] if columns else []
    lines.extend("\t".join(cell(item.get(column)) for column in columns) for item in items)
    if not items:
        lines.append("(no rows)")
    for key, value in others.items():
        if value is not None:
            lines.append(f"{key}: {value}")
    return "\n".join(lines)
