"""A summary request: refresh the cube, read the cells, apply disclosure control.

``summarise(engine, request)`` is what the API route and the CLI call. The answer holds
aggregate counts only — never a pid, a case id or any identifier — and says which cells are
withheld and why (``primary``: 1..k−1 people; ``secondary``: withheld so that a primary cell
cannot be recomputed from the others in the same answer).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import Engine, select

from gateway.cities import cities
from gateway.settings import get_settings
from gateway.storage.summaries import SummaryCellRow, SummaryStateRow
from gateway.summaries.dimensions import DIMENSIONS, TOTAL, Dimension, breakdown
from gateway.summaries.disclosure import protect
from gateway.summaries.kpis import KPI_NAMES, KPIS, NATIONAL
from gateway.summaries.layout import Cell, Layout
from gateway.summaries.periods import (
    GRANULARITIES,
    Granularity,
    month_index,
    periods_between,
    programme_period,
)
from gateway.summaries.preaggregate import refresh
from gateway.summaries.targets import programme, targets

MAX_CELLS = 250_000
MAX_MONTHS = 12 * 20
Suppression = Literal["primary", "secondary"]


class SummaryRequestError(ValueError):
    """The request is invalid: fix the named parameter."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter


@dataclass(frozen=True)
class SummaryRequest:
    """``from``/``to`` pick the periods; ``areas`` are city slugs or ``national``; ``by`` holds
    at most one of month/quarter/year and any breakdowns."""

    start: dt.date | None = None
    end: dt.date | None = None
    areas: tuple[str, ...] = ()
    by: tuple[str, ...] = ()

    @classmethod
    def parse(
        cls,
        *,
        start: dt.date | None = None,
        end: dt.date | None = None,
        city: Iterable[str] = (),
        by: Iterable[str] = (),
    ) -> SummaryRequest:
        """Split comma-separated values (``by=quarter,sex`` or ``by=quarter&by=sex``)."""

        def split(values: Iterable[str]) -> tuple[str, ...]:
            items = (part.strip() for value in values for part in value.split(","))
            return tuple(dict.fromkeys(item for item in items if item))

        return cls(start=start, end=end, areas=split(city), by=split(by))


@dataclass(frozen=True, slots=True)
class SummaryCell:
    """One published figure; ``value`` is null when withheld, ``suppressed`` says why.

    A plain dataclass, not a model: a year by month with every breakdown has 75,000 cells.
    """

    period: str
    kpi: str
    area: str
    dimension: str
    category: str
    value: int | None
    suppressed: Suppression | None = None


class PeriodInfo(BaseModel):
    key: str
    start: dt.date
    end: dt.date


class ProgressItem(BaseModel):
    """Network-wide programme figure of a KPI against its declared target."""

    kpi: str
    target: int
    comparison: Literal["more_than", "about"]
    value: int | None
    suppressed: Suppression | None = None
    ratio: float | None


class Summary(BaseModel):
    """A protected summary: every cell of the requested tables, and progress to targets."""

    granularity: Granularity
    periods: list[PeriodInfo]
    areas: list[str]
    kpis: list[str]
    dimensions: list[Dimension]
    k: int
    as_of_feed_seq: int
    cells: list[SummaryCell]
    progress: list[ProgressItem]
    suppressed_primary: int
    suppressed_secondary: int


def resolve_layout(request: SummaryRequest) -> Layout:
    """The cells and relations ``request`` publishes; ``SummaryRequestError`` if invalid."""
    granularities = [b for b in request.by if b in GRANULARITIES]
    unknown = [b for b in request.by if b not in GRANULARITIES and b not in DIMENSIONS]
    if unknown or len(granularities) > 1:
        raise SummaryRequestError(
            "by",
            "expected at most one of month, quarter, year, programme and any of "
            + ", ".join(DIMENSIONS),
        )
    granularity: Granularity = granularities[0] if granularities else "programme"
    window = programme()
    if granularity == "programme" and (request.start or request.end):
        raise SummaryRequestError(
            "from", "from/to select calendar periods: add by=month, by=quarter or by=year"
        )
    start, end = request.start or window.start, request.end or window.end
    if end < start:
        raise SummaryRequestError("to", "is before 'from'")
    if month_index(end) - month_index(start) >= MAX_MONTHS:
        raise SummaryRequestError("to", f"ask for at most {MAX_MONTHS // 12} years at a time")
    known = [NATIONAL, *(c.slug for c in cities())]
    if any(area not in known for area in request.areas):
        raise SummaryRequestError("city", "expected city slugs or 'national'")
    areas = [a for a in known if a in request.areas] if request.areas else known
    dimensions = tuple(d for d in DIMENSIONS if d in request.by)
    layout = Layout(
        periods=tuple(periods_between(granularity, start, end, window)),
        programme=programme_period(window),
        kpis=KPI_NAMES,
        areas=tuple(areas),
        dimensions=dimensions,
        progress_kpis=tuple(k for k in KPI_NAMES if k in targets()),
    )
    width = 1 + sum(len(breakdown(d).categories) for d in dimensions)
    if len(layout.periods) * len(layout.kpis) * len(areas) * width > MAX_CELLS:
        raise SummaryRequestError("by", "too many cells: ask for fewer periods or breakdowns")
    return layout


def _read(engine: Engine, layout: Layout, granularity: str) -> tuple[dict[Cell, int], int]:
    keys = [p.key for p in layout.periods]
    dims = [TOTAL, *layout.dimensions]
    columns = (
        SummaryCellRow.period,
        SummaryCellRow.kpi,
        SummaryCellRow.area,
        SummaryCellRow.dimension,
        SummaryCellRow.category,
        SummaryCellRow.count,
    )
    values: dict[Cell, int] = {}
    with engine.connect() as conn, conn.begin():
        rows = conn.execute(
            select(*columns).where(
                SummaryCellRow.granularity == granularity,
                SummaryCellRow.period.in_(keys),
                SummaryCellRow.area.in_(layout.areas),
                SummaryCellRow.dimension.in_(dims),
            )
        ).tuples()
        progress = conn.execute(
            select(*columns).where(
                SummaryCellRow.granularity == "programme",
                SummaryCellRow.area == NATIONAL,
                SummaryCellRow.dimension == TOTAL,
                SummaryCellRow.kpi.in_(layout.progress_kpis),
            )
        ).tuples()
        for period, kpi, area, dimension, category, count in [*rows, *progress]:
            values[(period, kpi, area, dimension, category)] = count
        mark = conn.execute(
            select(SummaryStateRow.watermark).where(SummaryStateRow.id == 1)
        ).scalar_one()
    return values, mark


def _cost(values: dict[Cell, int]) -> Callable[[Cell], tuple[int, bool, bool, Cell]]:
    # Smallest count first; then breakdown cells before totals and cities before the national
    # row (withholding a shared total or a national figure hides more); then a stable order.
    def cost(cell: Cell) -> tuple[int, bool, bool, Cell]:
        return (values.get(cell, 0), cell[3] == TOTAL, cell[2] == NATIONAL, cell)

    return cost


def summarise(engine: Engine, request: SummaryRequest, *, k: int | None = None) -> Summary:
    """Refresh the cube if cases changed, then answer ``request`` with disclosure control."""
    threshold = k if k is not None else get_settings().k_threshold
    if threshold < 3:
        raise SummaryRequestError("k", "must be at least 3")
    layout = resolve_layout(request)
    granularity = layout.periods[0].granularity
    refresh(engine)
    stored, mark = _read(engine, layout, granularity)
    published = layout.cells()
    values = {cell: stored.get(cell, 0) for cell in published}
    status = protect(values, layout.relations_of, threshold, cost=_cost(values))
    grid = [
        SummaryCell(*c, value=None if c in status else values[c], suppressed=status.get(c))
        for c in layout.grid()
    ]
    progress = []
    goals = targets()
    for name in layout.progress_kpis:
        target = goals[name]
        cell = layout.progress_cell(name)
        value = None if cell in status else values.get(cell, 0)
        progress.append(
            ProgressItem(
                kpi=name,
                target=target.value,
                comparison=target.comparison,
                value=value,
                suppressed=status.get(cell),
                ratio=None if value is None else round(value / target.value, 4),
            )
        )
    return Summary(
        granularity=granularity,
        periods=[PeriodInfo(key=p.key, start=p.start, end=p.end) for p in layout.periods],
        areas=list(layout.areas),
        kpis=[kpi.name for kpi in KPIS],
        dimensions=list(layout.dimensions),
        k=threshold,
        as_of_feed_seq=mark,
        cells=grid,
        progress=progress,
        suppressed_primary=sum(1 for s in status.values() if s == "primary"),
        suppressed_secondary=sum(1 for s in status.values() if s == "secondary"),
    )
