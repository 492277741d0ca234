"""One page of rows and the few field readers every view uses: name, namespace, age, labels, conditions."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

RowT = TypeVar("RowT", bound=BaseModel)


class RowPage(BaseModel, Generic[RowT]):
    """One page of a list: rows, and a token to fetch the next page when more remain."""

    items: list[RowT]
    count: int = Field(description="Number of rows in this page.")
    continue_token: str | None = Field(
        default=None,
        description="Pass as `continue_token` to get the next page; absent when this is the last.",
    )
    note: str | None = Field(default=None, description="Said when the list was cut or filtered.")


def page(
    listing: dict[str, Any], to_row: Callable[[dict[str, Any]], RowT], *, limit: int | None = None
) -> RowPage[RowT]:
    """Rows of a Kubernetes list answer plus its continue token and a note when more remain."""
    return row_page([to_row(item) for item in listing.get("items") or []], listing.get("metadata"), limit=limit)


def row_page(rows: list[RowT], metadata: Any, *, limit: int | None = None) -> RowPage[RowT]:
    """A page of rows already made, with the continue token and the count of what remains from the list's
    `metadata`."""
    metadata = metadata if isinstance(metadata, dict) else {}
    token = metadata.get("continue") or None
    remaining = metadata.get("remainingItemCount")
    note = None
    if token:
        more = f"{remaining} more" if remaining else "more"
        note = f"Showing {len(rows)} (limit {limit}); {more} remain: call again with continue_token."
    return RowPage[RowT](items=rows, count=len(rows), continue_token=token, note=note)


def age(timestamp: str | None, now: datetime | None = None) -> str:
    """`kubectl`-style age: 45s, 12m, 5h, 3d."""
    if not timestamp:
        return ""
    try:
        then = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return ""
    return age_of_seconds(int(((now or datetime.now(UTC)) - then).total_seconds()))


def age_of_seconds(seconds: int) -> str:
    """An age of `seconds` the way :func:`age` writes it."""
    seconds = max(seconds, 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit != "m" else 1):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


_DURATION_UNITS = {"y": 365 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"(?:(\d{1,9})([ydhms]))")


def table_age(cell: Any) -> str | None:
    """The Age cell of a server-side Table (kubectl's "2m13s", "3d4h", "5y") in :func:`age`'s coarser form, or
    None when the cell is not such a duration."""
    text = str(cell or "").strip()
    parts = _DURATION.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        return None
    return age_of_seconds(sum(int(number) * _DURATION_UNITS[unit] for number, unit in parts))


def metadata_of(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def name_of(obj: dict[str, Any]) -> str:
    return str(metadata_of(obj).get("name", ""))


def namespace_of(obj: dict[str, Any]) -> str:
    return str(metadata_of(obj).get("namespace", ""))


def created_age(obj: dict[str, Any]) -> str:
    return age(metadata_of(obj).get("creationTimestamp"))


def selector_text(labels: dict[str, str] | None) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items()))


class Condition(BaseModel):
    """One entry of an object's status.conditions, as `kubectl describe` shows it."""

    type: str
    status: str
    reason: str | None = None
    message: str | None = None


def conditions(obj: dict[str, Any]) -> list[Condition]:
    """The status conditions of a Deployment, StatefulSet, DaemonSet, Job or HPA."""
    return [
        Condition(type=c.get("type", ""), status=c.get("status", ""), reason=c.get("reason"), message=c.get("message"))
        for c in (obj.get("status") or {}).get("conditions") or []
    ]


def tail_text(text: str, max_bytes: int) -> tuple[str, bool]:
    """The last `max_bytes` of text (cut at a line start when possible) and whether it was cut."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text, False
    kept = encoded[-max_bytes:].decode("utf-8", "ignore")
    newline = kept.find("\n")
    if 0 <= newline < len(kept) - 1:
        kept = kept[newline + 1 :]
    return kept, True


def names(objects: Iterable[dict[str, Any]]) -> list[str]:
    return [str(metadata_of(o).get("name", "")) for o in objects]
