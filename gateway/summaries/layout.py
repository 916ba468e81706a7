"""The cells one summary request publishes, and every linear relation that ties them.

A cell is ``(period, kpi, area, dimension, category)``; the KPI's total is the cell with
dimension and category ``total``, shared by every breakdown table of that KPI, period and
area (linked tables). The relations below hold for any data, by construction of
:mod:`gateway.summaries.kpis`; disclosure control (:mod:`gateway.summaries.disclosure`) and
its tests use exactly these:

* **breakdowns** — sex, age band, citizenship area: categories add up to the total (one
  network-wide value per person). Vulnerability (multi-valued): each category ≤ total,
  ``none`` + any vulnerability ≤ total, total ≤ ``none`` + all vulnerabilities.
* **areas** — each city ≤ national; national ≤ sum of the cities when all 18 are published
  (a person in two cities counts once nationally).
* **channels** — in a city, mobile unit + one-stop-shop ≤ taken in charge (a person is taken
  in charge once per city); nationally each channel ≤ taken in charge.
* **progress** — every total of a period inside the programme window ≤ the national
  programme total published as progress against the target; and when the periods asked for
  span the whole window, that programme total ≤ the sum of their national totals (or of
  every city's, without the national row).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import cast

from gateway.cities import cities
from gateway.summaries.dimensions import NO_VULNERABILITY, TOTAL, Dimension, breakdown
from gateway.summaries.disclosure import Relation
from gateway.summaries.kpis import CHANNEL_KPIS, NATIONAL, TAKEN_IN_CHARGE
from gateway.summaries.periods import Period

Cell = tuple[str, str, str, str, str]  # (period, kpi, area, dimension, category)
CellRelation = Relation[Cell]


def _relation(lhs: list[Cell], rhs: list[Cell], exact: bool) -> CellRelation:
    return Relation(tuple(sorted(lhs)), tuple(sorted(rhs)), exact)


@dataclass(frozen=True)
class Layout:
    """Periods × KPIs × areas × (total + breakdown categories), plus the progress cells."""

    periods: tuple[Period, ...]
    programme: Period
    kpis: tuple[str, ...]
    areas: tuple[str, ...]
    dimensions: tuple[Dimension, ...]
    progress_kpis: tuple[str, ...] = field(default=())

    @cached_property
    def _periods(self) -> dict[str, Period]:
        return {p.key: p for p in self.periods} | {self.programme.key: self.programme}

    @cached_property
    def _grid_periods(self) -> frozenset[str]:
        return frozenset(p.key for p in self.periods)

    @cached_property
    def _cities(self) -> tuple[str, ...]:
        return tuple(a for a in self.areas if a != NATIONAL)

    @cached_property
    def _all_cities(self) -> bool:
        return NATIONAL in self.areas and {c.slug for c in cities()} <= set(self._cities)

    @cached_property
    def _channels(self) -> tuple[str, ...]:
        channels = tuple(CHANNEL_KPIS.values())
        if TAKEN_IN_CHARGE in self.kpis and all(k in self.kpis for k in channels):
            return channels
        return ()

    def progress_cell(self, kpi: str) -> Cell:
        return (self.programme.key, kpi, NATIONAL, TOTAL, TOTAL)

    def grid(self) -> Iterator[Cell]:
        """The cells of the tables, in display order."""
        for period in self.periods:
            for kpi in self.kpis:
                for area in self.areas:
                    yield (period.key, kpi, area, TOTAL, TOTAL)
                    for dimension in self.dimensions:
                        for category in breakdown(dimension).categories:
                            yield (period.key, kpi, area, dimension, category)

    def cells(self) -> list[Cell]:
        """Every published cell: the grid, then any progress cell not already in it."""
        grid = list(self.grid())
        seen = set(grid)
        extra = [self.progress_cell(k) for k in self.progress_kpis]
        return grid + [c for c in extra if c not in seen]

    def relations(self) -> set[CellRelation]:
        """Every relation among the published cells (for audits and tests)."""
        found: set[CellRelation] = set()
        for cell in self.cells():
            found.update(self.relations_of(cell))
        return found

    def relations_of(self, cell: Cell) -> list[CellRelation]:
        """Every relation ``cell`` takes part in."""
        dimension = cell[3]
        found = self._breakdown(cell)
        if NATIONAL in self.areas:
            found += self._areas(cell)
        if self._channels:
            found += self._channel(cell)
        if dimension == TOTAL:
            found += self._progress(cell)
        return found

    def _breakdown(self, cell: Cell) -> list[CellRelation]:
        period, kpi, area, dimension, category = cell
        if period not in self._grid_periods:
            return []  # a progress cell only: no breakdown published
        total: Cell = (period, kpi, area, TOTAL, TOTAL)
        dims = self.dimensions if dimension == TOTAL else (cast(Dimension, dimension),)
        found: list[CellRelation] = []
        for dim in dims:
            spec = breakdown(dim)
            parts: list[Cell] = [(period, kpi, area, dim, c) for c in spec.categories]
            if not spec.multi_valued:
                found.append(_relation([total], parts, exact=True))
                continue
            none: Cell = (period, kpi, area, dim, NO_VULNERABILITY)
            kinds = [part for part in parts if part != none]
            found.append(_relation([total], parts, exact=False))
            if dimension == TOTAL or category == NO_VULNERABILITY:
                found.append(_relation([none], [total], exact=False))
                mine = kinds
            else:
                mine = [cell]
            for part in mine:
                found.append(_relation([part], [total], exact=False))
                found.append(_relation([none, part], [total], exact=False))
        return found

    def _areas(self, cell: Cell) -> list[CellRelation]:
        period, kpi, area, dimension, category = cell
        if period not in self._grid_periods:
            return []
        column = [(period, kpi, city, dimension, category) for city in self._cities]
        national: Cell = (period, kpi, NATIONAL, dimension, category)
        found = [
            _relation([c], [national], exact=False)
            for c in (column if area == NATIONAL else [cell])
        ]
        if self._all_cities:
            found.append(_relation([national], column, exact=False))
        return found

    def _channel(self, cell: Cell) -> list[CellRelation]:
        period, kpi, area, dimension, category = cell
        if kpi != TAKEN_IN_CHARGE and kpi not in self._channels:
            return []
        if period not in self._grid_periods:
            return []
        total: Cell = (period, TAKEN_IN_CHARGE, area, dimension, category)
        channels = [(period, k, area, dimension, category) for k in self._channels]
        if area != NATIONAL:
            return [_relation(channels, [total], exact=False)]
        mine = channels if kpi == TAKEN_IN_CHARGE else [cell]
        return [_relation([c], [total], exact=False) for c in mine]

    @cached_property
    def _cover_areas(self) -> tuple[str, ...]:
        """Areas whose totals, over periods spanning the programme, count everyone in it."""
        if not self.periods or self.periods[0].granularity == self.programme.granularity:
            return ()
        if self.periods[0].first > self.programme.first:
            return ()
        if self.periods[-1].last < self.programme.last:
            return ()
        if NATIONAL in self.areas:
            return (NATIONAL,)
        return tuple(c.slug for c in cities()) if self._all_cities_listed else ()

    @cached_property
    def _all_cities_listed(self) -> bool:
        return {c.slug for c in cities()} <= set(self.areas)

    def _cover(self, kpi: str) -> list[Cell]:
        return [
            (p.key, kpi, area, TOTAL, TOTAL)
            for p in self.periods
            if p.last >= self.programme.first and p.first <= self.programme.last
            for area in self._cover_areas
        ]

    def _progress(self, cell: Cell) -> list[CellRelation]:
        period_key, kpi = cell[:2]
        if kpi not in self.progress_kpis:
            return []
        target = self.progress_cell(kpi)
        found: list[CellRelation] = []
        cover = self._cover(kpi) if self._cover_areas else []
        if cover and (cell == target or cell in cover):
            # The periods asked for span the programme: its people are all in them.
            found.append(_relation([target], cover, exact=False))
        if cell == target:
            return found + [
                _relation([(p.key, kpi, a, TOTAL, TOTAL)], [target], exact=False)
                for p in self.periods
                if p.within(self.programme)
                for a in self.areas
                if (p.key, kpi, a, TOTAL, TOTAL) != target
            ]
        period = self._periods.get(period_key)
        if period is None or not period.within(self.programme):
            return found
        return [*found, _relation([cell], [target], exact=False)]
