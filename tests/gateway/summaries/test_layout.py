"""The layout's relations: each cell knows every relation it is in, and they are true."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.summaries.layout import Layout
from gateway.summaries.report import SummaryRequest, resolve_layout

REQUESTS = [
    SummaryRequest.parse(
        city=["roma", "milano", "national"],
        by=["sex", "age_band", "citizenship_area", "vulnerability"],
    ),
    SummaryRequest.parse(city=["roma", "national"], by=["vulnerability"]),
    SummaryRequest.parse(by=["year", "sex"], start=dt.date(2023, 1, 1), end=dt.date(2025, 12, 31)),
    SummaryRequest.parse(
        city=["roma", "milano"], by=["year"], start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31)
    ),
    SummaryRequest.parse(by=["month"], start=dt.date(2026, 11, 1), end=dt.date(2027, 2, 1)),
]


@pytest.mark.parametrize("request_", REQUESTS)
def test_every_cell_of_a_relation_lists_that_relation(request_: SummaryRequest) -> None:
    # The protection walks relations from withheld cells: one a cell does not know of would
    # go unchecked.
    layout: Layout = resolve_layout(request_)
    cells = set(layout.cells())
    for relation in layout.relations():
        for cell in relation.cells():
            assert cell in cells, cell
            assert relation in layout.relations_of(cell), (cell, relation)


def test_periods_spanning_the_programme_bound_its_total_from_above() -> None:
    layout = resolve_layout(REQUESTS[2])
    target = layout.progress_cell("taken_in_charge")
    spans = [r for r in layout.relations_of(target) if r.lhs == (target,) and len(r.rhs) > 1]
    assert len(spans) == 1 and len(spans[0].rhs) == 3  # 2023, 2024 and 2025, nationally
    partial = resolve_layout(
        SummaryRequest.parse(by=["quarter"], start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31))
    )
    target = partial.progress_cell("taken_in_charge")
    assert not [r for r in partial.relations_of(target) if r.lhs == (target,)]
