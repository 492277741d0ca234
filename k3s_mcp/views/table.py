"""How a list answer reads for a model: a header and rows of cells instead of JSON that repeats every key.

A page of 1,000 pods as JSON spends about half its tokens on the same keys again and again. The text block of a
list answer is therefore a table, the way `kubectl get` prints it; the structured content (for programs) keeps
the full typed rows. Cells are separated by one space, or by a tab when a cell of the table holds a space (one
space costs a token less per row: about 1,000 of 20,000 for 1,000 pods). `K3S_LIST_TEXT=json` restores the JSON
text.

Two more things a table repeats are written once: a column with the same value in every row (the namespace of a
one-namespace list, `Running` in a healthy one) becomes one ``same in every row:`` line above the header, and the
namespace of a list across namespaces (whose rows come grouped by namespace) becomes a ``namespace: X`` line
before each group. A pod's IP, which `kubectl get pods` shows only with -o wide, stays in the structured rows.
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
    # Most cells: a str with nothing to replace, or an int; the same text as below, without the other checks.
    if type(value) is str and "\t" not in value and "\n" not in value:
        return value or "-"
    if type(value) is int:
        return str(value)
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


NAMESPACE_COLUMN = "namespace"
# Columns `kubectl get` shows only with -o wide, left to the structured rows: a pod's IP (get_resource has it).
WIDE_COLUMNS = frozenset({"ip"})


def _grouped(values: list[str]) -> bool:
    """Whether equal values come in contiguous runs (a list across namespaces comes sorted by namespace)."""
    seen: set[str] = set()
    previous = None
    for value in values:
        if value != previous:
            if value in seen:
                return False
            seen.add(value)
            previous = value
    return True


def row_table(answer: dict[str, Any]) -> str | None:
    """The text of a list answer (`items` of flat rows), or None when the answer is not a list of rows."""
    items = answer.get("items")
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        return None
    others = {key: value for key, value in answer.items() if key != "items"}
    if any(isinstance(value, dict | list) for value in others.values()):
        return None
    columns: list[str] = []
    seen = set(WIDE_COLUMNS)
    for item in items:
        for key in item:
            if key not in seen:
                seen.add(key)
                columns.append(key)
    cells = {column: [cell(item.get(column)) for item in items] for column in columns}
    lines: list[str] = []
    if len(items) >= 2:
        same = [column for column in columns[1:] if len(set(cells[column])) == 1]
        if same:
            lines.append("same in every row: " + ", ".join(f"{column}={cells[column][0]}" for column in same))
            columns = [column for column in columns if column not in same]
    groups = len(items) >= 2 and NAMESPACE_COLUMN in columns[1:] and _grouped(cells[NAMESPACE_COLUMN])
    if groups:
        columns.remove(NAMESPACE_COLUMN)
    # One space between cells reads as well as a tab and costs a token less per row; a tab when a cell has a space.
    separator = "\t" if any(" " in "".join(cells[column]) for column in columns) else " "
    if columns:
        lines.append(separator.join(column.upper() for column in columns))
    rows = zip(*(cells[column] for column in columns), strict=True) if columns else iter([()] * len(items))
    if groups:
        previous = None
        for namespace, values in zip(cells[NAMESPACE_COLUMN], rows, strict=True):
            if namespace != previous:
                previous = namespace
                lines.append(f"namespace: {namespace}")
            lines.append(separator.join(values))
    else:
        lines.extend(separator.join(values) for values in rows)
    if not items:
        lines.append("(no rows)")
    for key, value in others.items():
        if value is not None:
            lines.append(f"{key}: {value}")
    return "\n".join(lines)
