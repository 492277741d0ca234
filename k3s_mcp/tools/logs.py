"""Log search for get_logs: the `since` argument as the API's sinceSeconds/sinceTime, and grep-like matching.

A pattern is a plain substring, matched case-insensitively: the cost is linear in the log whatever the caller
sends, so no pattern (a regular expression with nested repetition, a huge alternation) can hold the server up.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from fastmcp.exceptions import ToolError

_DURATION = re.compile(r"(?:(\d{1,4})d)?(?:(\d{1,5})h)?(?:(\d{1,7})m)?(?:(\d{1,9})s)?")
MAX_SINCE = timedelta(days=366)
SEPARATOR = "--"


def since_query(since: str, now: datetime | None = None) -> tuple[str, str]:
    """The query pair of `since`: a duration ('90s', '15m', '2h', '1d12h') as sinceSeconds, or an RFC 3339 time
    ('2026-01-01T00:04:00Z') as sinceTime, written by us in UTC rather than passed on as given."""
    text = since.strip()
    duration = _DURATION.fullmatch(text)
    if text and duration and any(duration.groups()):
        days, hours, minutes, seconds = (int(part or 0) for part in duration.groups())
        span = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if not timedelta(seconds=1) <= span <= MAX_SINCE:
            raise ToolError(f"since={since!r} must be between 1s and 366d.")
        return ("sinceSeconds", str(int(span.total_seconds())))
    try:
        moment = datetime.fromisoformat(text) if 0 < len(text) <= 40 else None
    except ValueError:
        moment = None
    if moment is None:
        raise ToolError(
            f"since={since[:60]!r} is neither a duration (e.g. '90s', '15m', '2h', '1d12h') nor an RFC 3339 time "
            "(e.g. '2026-01-01T00:04:00Z')."
        )
    if moment.tzinfo is None:
        raise ToolError(f"since={since!r} needs a time zone, e.g. '{text}Z' for UTC.")
    moment = moment.astimezone(UTC)
    if moment > (now or datetime.now(UTC)):
        raise ToolError(f"since={since!r} is in the future: no log line can be newer.")
    return ("sinceTime", moment.strftime("%Y-%m-%dT%H:%M:%SZ"))


def search(lines: Sequence[str], pattern: str, context_lines: int) -> tuple[list[str], int]:
    """Lines containing `pattern` (case-insensitive) with `context_lines` before and after each (groups that do
    not touch separated by '--', as grep does); and the number of matching lines."""
    needle = pattern.casefold()
    hits = [index for index, line in enumerate(lines) if needle in line.casefold()]
    shown: list[str] = []
    last = -1
    for index in hits:
        start, end = max(index - context_lines, last + 1), min(index + context_lines, len(lines) - 1)
        if context_lines and shown and start > last + 1:
            shown.append(SEPARATOR)
        shown.extend(lines[start : end + 1])
        last = max(last, end)
    return shown, len(hits)
