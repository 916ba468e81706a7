"""Calendar periods and the programme window."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.summaries.periods import month_index, parse_period, periods_between
from gateway.summaries.targets import Programme

WINDOW = Programme(start=dt.date(2024, 1, 1), end=dt.date(2026, 12, 31))


def test_periods_are_whole_calendar_periods_overlapping_the_range() -> None:
    start, end = dt.date(2025, 2, 10), dt.date(2025, 4, 1)
    assert [p.key for p in periods_between("month", start, end, WINDOW)] == [
        "2025-02",
        "2025-03",
        "2025-04",
    ]
    quarters = periods_between("quarter", start, end, WINDOW)
    assert [(p.key, p.start, p.end) for p in quarters] == [
        ("2025-Q1", dt.date(2025, 1, 1), dt.date(2025, 3, 31)),
        ("2025-Q2", dt.date(2025, 4, 1), dt.date(2025, 6, 30)),
    ]
    assert [p.key for p in periods_between("year", start, dt.date(2026, 1, 1), WINDOW)] == [
        "2025",
        "2026",
    ]
    (programme,) = periods_between("programme", start, end, WINDOW)
    assert (programme.start, programme.end, programme.end_year) == (WINDOW.start, WINDOW.end, 2026)


@pytest.mark.parametrize("key", ["2025-03", "2025-Q4", "2025", "programme"])
def test_period_keys_round_trip(key: str) -> None:
    assert parse_period(key, WINDOW).key == key


@pytest.mark.parametrize("key", ["2025-13", "2025-Q5", "25", "2025-W01", ""])
def test_bad_period_keys_are_refused(key: str) -> None:
    with pytest.raises(ValueError):
        parse_period(key, WINDOW)


def test_month_indexes_order_months() -> None:
    assert month_index(dt.date(2025, 1, 31)) + 1 == month_index(dt.date(2025, 2, 1))
    assert month_index(dt.date(2024, 12, 1)) + 1 == month_index(dt.date(2025, 1, 1))


def test_a_window_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError):
        Programme(start=dt.date(2025, 1, 1), end=dt.date(2024, 1, 1))
