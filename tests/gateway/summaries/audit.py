"""An attacker's view of a published summary: solve the published linear constraints.

For every withheld cell, minimise and maximise it over all non-negative values of the
withheld cells that agree with the published cells and every relation of the layout
(breakdowns add up, cities vs national, channels, progress). A withheld cell is disclosed
when its minimum equals its maximum.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from gateway.summaries.layout import Cell, Layout
from gateway.summaries.report import Summary

SCREENS = 8


def published(summary: Summary, layout: Layout) -> dict[Cell, int | None]:
    cells: dict[Cell, int | None] = {
        (c.period, c.kpi, c.area, c.dimension, c.category): c.value for c in summary.cells
    }
    for item in summary.progress:
        cells.setdefault(layout.progress_cell(item.kpi), item.value)
    return cells


def ranges(summary: Summary, layout: Layout) -> dict[Cell, tuple[float, float]]:
    """(min, max) of each withheld cell of a summary."""
    return solve(published(summary, layout), layout.relations())


def solve(values: dict, relations) -> dict:
    """(min, max) of each cell whose value is None; raises if a published relation is violated.

    Cells seen taking two values among a few feasible solutions get the spread of those values
    instead (enough to show min < max, and much cheaper than two LPs per cell).
    """
    hidden = sorted((cell for cell, value in values.items() if value is None), key=repr)
    if not hidden:
        return {}
    index = {cell: i for i, cell in enumerate(hidden)}
    a_eq, b_eq, a_ub, b_ub = [], [], [], []
    for relation in relations:
        row = np.zeros(len(hidden))
        constant = 0
        for cell, coefficient in relation.coefficients().items():
            assert cell in values, f"relation mentions an unpublished cell {cell}"
            if values[cell] is None:
                row[index[cell]] += coefficient
            else:
                constant += coefficient * values[cell]
        if not row.any():
            holds = constant == 0 if relation.exact else constant <= 0
            assert holds, f"published values violate {relation}"
            continue
        (a_eq if relation.exact else a_ub).append(row)
        (b_eq if relation.exact else b_ub).append(-constant)
    options = {
        "A_eq": sparse.csr_array(np.array(a_eq)) if a_eq else None,
        "b_eq": np.array(b_eq) if b_eq else None,
        "A_ub": sparse.csr_array(np.array(a_ub)) if a_ub else None,
        "b_ub": np.array(b_ub) if b_ub else None,
        "method": "highs",
    }
    # Screening: vertices for a few random objectives, in a box that keeps them bounded (a
    # smaller feasible set, so two values seen there are two values of the real one). Cells
    # seen taking two values are not determined; the others get an exact min and max.
    box = 10 * max([1, *(v for v in values.values() if v is not None)])
    rng = np.random.default_rng(0)
    seen = []
    for _ in range(SCREENS):
        result = linprog(rng.normal(size=len(hidden)), bounds=(0, box), **options)
        assert result.status == 0, f"infeasible or failed: {result.message}"
        seen.append(result.x)
    spread = np.array(seen)
    found: dict[Cell, tuple[float, float]] = {}
    for cell, i in index.items():
        low, high = spread[:, i].min(), spread[:, i].max()
        if high - low > 1e-6:
            found[cell] = (low, high)
            continue
        objective = np.zeros(len(hidden))
        objective[i] = 1.0
        minimum = linprog(objective, bounds=(0, None), **options)
        assert minimum.status == 0, f"infeasible or failed: {minimum.message}"
        maximum = linprog(-objective, bounds=(0, None), **options)
        assert maximum.status in (0, 3), f"failed: {maximum.message}"
        found[cell] = (minimum.fun, float("inf") if maximum.status == 3 else -maximum.fun)
    return found


def pinned(found: dict) -> list:
    return [(cell, low) for cell, (low, high) in found.items() if high - low < 1e-6]


def disclosed(summary: Summary, layout: Layout) -> list[tuple[Cell, float]]:
    """Withheld cells whose value the published constraints pin down."""
    return pinned(ranges(summary, layout))
