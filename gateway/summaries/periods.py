"""Reporting periods: calendar months, quarters and years, and the whole programme.

Events are dated to a *month index* (``year * 12 + month - 1``), which turns every calendar
period into a range of integers: a quarter is ``index // 3``, a year ``index // 12``. Period
keys are stable strings: ``2025-03``, ``2025-Q1``, ``2025``, ``programme``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from gateway.summaries.targets import Programme

Granularity = Literal["month", "quarter", "year", "programme"]
GRANULARITIES: tuple[Granularity, ...] = ("month", "quarter", "year", "programme")
PROGRAMME_KEY = "programme"


def month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def month_start(index: int) -> dt.date:
    return dt.date(index // 12, index % 12 + 1, 1)


def month_end(index: int) -> dt.date:
    return month_start(index + 1) - dt.timedelta(days=1)


@dataclass(frozen=True)
class Period:
    """One reporting period: ``[first, last]`` month indexes, both included."""

    granularity: Granularity
    key: str
    first: int
    last: int

    @property
    def start(self) -> dt.date:
        return month_start(self.first)

    @property
    def end(self) -> dt.date:
        return month_end(self.last)

    @property
    def end_year(self) -> int:
        """The year ages are computed at (ages are taken at the period's end)."""
        return self.last // 12

    def contains(self, index: int) -> bool:
        return self.first <= index <= self.last

    def within(self, other: Period) -> bool:
        return other.first <= self.first and self.last <= other.last


def month_period(index: int) -> Period:
    year, month = divmod(index, 12)
    return Period("month", f"{year:04d}-{month + 1:02d}", index, index)


def quarter_period(quarter: int) -> Period:
    """The period of quarter number ``quarter`` (``month_index // 3``)."""
    year, number = divmod(quarter, 4)
    return Period("quarter", f"{year:04d}-Q{number + 1}", quarter * 3, quarter * 3 + 2)


def year_period(year: int) -> Period:
    return Period("year", f"{year:04d}", year * 12, year * 12 + 11)


def programme_period(window: Programme) -> Period:
    return Period("programme", PROGRAMME_KEY, month_index(window.start), month_index(window.end))


def periods_between(
    granularity: Granularity, start: dt.date, end: dt.date, window: Programme
) -> list[Period]:
    """Every period of ``granularity`` that overlaps ``[start, end]``, in order.

    Periods are whole calendar periods: a request from 2025-02-10 to 2025-04-01 by quarter gets
    2025-Q1 and 2025-Q2 in full. The programme granularity has a single period.
    """
    if granularity == "programme":
        return [programme_period(window)]
    if end < start:
        raise ValueError("'to' is before 'from'")
    first, last = month_index(start), month_index(end)
    if granularity == "month":
        return [month_period(i) for i in range(first, last + 1)]
    if granularity == "quarter":
        return [quarter_period(q) for q in range(first // 3, last // 3 + 1)]
    return [year_period(y) for y in range(first // 12, last // 12 + 1)]


def parse_period(key: str, window: Programme) -> Period:
    """The period with this key (``2025-03``, ``2025-Q1``, ``2025`` or ``programme``)."""
    if key == PROGRAMME_KEY:
        return programme_period(window)
    if len(key) == 4 and key.isdigit():
        return year_period(int(key))
    year, _, rest = key.partition("-")
    if rest.startswith("Q") and rest[1:].isdigit() and 1 <= int(rest[1:]) <= 4:
        return quarter_period(int(year) * 4 + int(rest[1:]) - 1)
    if rest.isdigit() and 1 <= int(rest) <= 12:
        return month_period(int(year) * 12 + int(rest) - 1)
    raise ValueError("not a period key (2025-03, 2025-Q1, 2025 or programme)")
