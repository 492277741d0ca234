"""Ages: kubectl's durations from a server-side Table, written the way every row of ours writes them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from k3s_mcp.views.pages import age, age_of_seconds, table_age


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("45s", "45s"), ("2m13s", "2m"), ("9m59s", "9m"), ("3h5m", "3h"), ("45h", "45h"), ("3d4h", "3d"), ("5y", "1825d")],
)
def test_table_ages_read_as_our_ages(cell: str, expected: str) -> None:
    assert table_age(cell) == expected


@pytest.mark.parametrize("cell", ["", "<unknown>", "3 days", "5x", "2m13", "m5", None, 7, "1d 2h"])
def test_a_cell_that_is_not_a_duration_is_refused(cell: object) -> None:
    assert table_age(cell) is None


def test_age_and_age_of_seconds_agree() -> None:
    now = datetime(2026, 1, 3, tzinfo=UTC)
    assert age("2026-01-01T00:00:00Z", now) == age_of_seconds(2 * 86400) == "2d"
    assert age_of_seconds(-5) == "0s" and age_of_seconds(119) == "1m" and age_of_seconds(7199) == "119m"
