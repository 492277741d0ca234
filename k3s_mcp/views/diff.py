"""Field-level diff of an object before and after a (dry-run) write: the paths that would change, bounded.

Both sides are the API server's own answers (the live object and the dry-run result), so defaults the server
fills in never show as changes. What the server changes on every write (managedFields, resourceVersion,
generation, uid, timestamps), status, and apiVersion and kind (which a write cannot change) are left out. A
Secret's `data`/`stringData` never show a value, only that a key was added, removed or changed.
"""

from __future__ import annotations

import json
from typing import Any

from k3s_mcp.views.masking import LAST_APPLIED

DIFF_MAX_LINES = 60
_VALUE_CHARS = 80
_SKIPPED_METADATA = frozenset({"managedFields", "resourceVersion", "generation", "uid", "creationTimestamp"})
_SECRET_FIELDS = frozenset({"data", "stringData"})


def _comparable(obj: dict[str, Any] | None) -> dict[str, Any]:
    if not obj:
        return {}
    clean = {key: value for key, value in obj.items() if key not in ("status", "apiVersion", "kind")}
    metadata = clean.get("metadata")
    if isinstance(metadata, dict):
        metadata = {key: value for key, value in metadata.items() if key not in _SKIPPED_METADATA}
        annotations = metadata.get("annotations")
        if isinstance(annotations, dict) and LAST_APPLIED in annotations:
            metadata["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
        clean["metadata"] = metadata
    return clean


def _is_timestamp(key: str) -> bool:
    return key.endswith(("Timestamp", "Time")) or key in ("timestamp", "time")


def _key(key: str) -> str:
    # Keys with dots or slashes (labels, annotations) are quoted so the path stays readable and unambiguous.
    return key if key.replace("-", "").replace("_", "").isalnum() else json.dumps(key, ensure_ascii=False)


def _join(path: str, key: str) -> str:
    return f"{path}.{_key(key)}" if path else _key(key)


def _item_keys(items: list[Any]) -> list[str] | None:
    """`name=...` keys when every item of a list is a mapping with a distinct name (containers, ports, env)."""
    names = [item.get("name") if isinstance(item, dict) else None for item in items]
    if names and all(isinstance(name, str) for name in names) and len(set(names)) == len(names):
        return [f"name={name}" for name in names]
    return None


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= _VALUE_CHARS else text[: _VALUE_CHARS - 3] + "..."


class _Diff:
    def __init__(self, secret: bool, max_lines: int) -> None:
        self.secret = secret
        self.max_lines = max_lines
        self.lines: list[str] = []
        self.total = 0

    def add(self, line: str) -> None:
        self.total += 1
        if len(self.lines) < self.max_lines:
            self.lines.append(line)

    def hidden(self, path: str) -> bool:
        return self.secret and path.split(".", 1)[0] in _SECRET_FIELDS and "." in path

    def walk(self, path: str, before: Any, after: Any) -> None:
        if before == after:
            return
        # A mapping added or removed as a whole shows as its leaves: `+ metadata.labels.tier: "web"`.
        if before is _MISSING and isinstance(after, dict) and after:
            before = {}
        elif after is _MISSING and isinstance(before, dict) and before:
            after = {}
        if isinstance(before, dict) and isinstance(after, dict):
            for key in sorted(set(before) | set(after)):
                if _is_timestamp(key):
                    continue
                self.walk(_join(path, key), before.get(key, _MISSING), after.get(key, _MISSING))
            return
        if isinstance(before, list) and isinstance(after, list):
            keys_before, keys_after = _item_keys(before), _item_keys(after)
            if keys_before is not None and keys_after is not None:
                old = dict(zip(keys_before, before, strict=True))
                new = dict(zip(keys_after, after, strict=True))
                for key in [*keys_before, *(k for k in keys_after if k not in old)]:
                    self.walk(f"{path}[{key}]", old.get(key, _MISSING), new.get(key, _MISSING))
                return
            for index in range(max(len(before), len(after))):
                self.walk(
                    f"{path}[{index}]",
                    before[index] if index < len(before) else _MISSING,
                    after[index] if index < len(after) else _MISSING,
                )
            return
        if before is _MISSING:
            self.add(f"+ {path}" if self.hidden(path) else f"+ {path}: {_shown(after)}")
        elif after is _MISSING:
            self.add(f"- {path}")
        elif self.hidden(path):
            self.add(f"{path}: (hidden) changed")
        else:
            self.add(f"{path}: {_shown(before)} -> {_shown(after)}")


_MISSING: Any = object()


def field_diff(
    before: dict[str, Any] | None, after: dict[str, Any], *, max_lines: int = DIFF_MAX_LINES
) -> tuple[list[str], int]:
    """The changed fields from `before` (None: the object is new) to `after`, at most `max_lines` of them, and how
    many there are in all. Lines read `spec.replicas: 2 -> 3`, `+ metadata.labels.tier: "web"`, `- spec.paused`."""
    secret = after.get("kind") == "Secret" or (before or {}).get("kind") == "Secret"
    diff = _Diff(secret, max_lines)
    diff.walk("", _comparable(before), _comparable(after))
    if diff.total > len(diff.lines):
        diff.lines.append(f"... {diff.total - len(diff.lines)} more changed fields not shown")
    return diff.lines, diff.total
