"""Statistical disclosure control of count tables: primary and complementary suppression.

**Primary suppression.** A cell counting 1 to k−1 people is withheld; zero is shown as zero.

**Complementary (secondary) suppression.** Published cells are tied together by linear
relations — a breakdown adds up to its total, a city's count is at most the national one, the
national count at most the sum of the cities', tables of one request share their totals. A
withheld cell must not be recomputable from them. :func:`protect` takes the cells and a
function giving each cell's relations (``Σ lhs = Σ rhs`` or ``Σ lhs ≤ Σ rhs``) and withholds
more cells until no withheld cell is determined:

1. *Lines.* A relation is *binding* when it is an equality, or an inequality that holds with
   equality on the true values (an attacker bounding a cell by it would hit the true value).
   Every binding relation with exactly one withheld cell determines that cell, so the
   smallest other positive published cell of the relation is withheld too, until every
   binding relation holds none or at least two withheld cells (the classic "two per row and
   column" rule, across every table of the request at once).
2. *Audit.* That rule is not enough on its own (two protected blocks joined by a single cell
   still determine it), so the binding relations, restricted to the withheld cells, are
   reduced to row-echelon form. A withheld cell is determined exactly when its pivot row
   has no other entry; for each such cell the cheapest positive published cell sharing a
   relation with it (or, failing that, the nearest one) is withheld, and both steps repeat.

Why this suffices: when no withheld cell is linearly determined by the binding relations,
each withheld cell ``x`` has a direction ``d`` (``d_x ≠ 0``) that keeps every binding
relation. Withheld cells are all positive (zeros are never withheld), and non-binding
inequalities have slack of at least one, so the true values moved a little along ``±d`` are
another non-negative solution of every published relation: ``x`` has a range, not a value.
Complementary cells are always positive counts, never zeros.

The elimination runs modulo the prime 2**61 − 1: exact, and equal to the rational result
unless the prime divides one of the (small-integer) minors involved.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

K = TypeVar("K", bound=Hashable)
Status = Literal["primary", "secondary"]

PRIME = (1 << 61) - 1


@dataclass(frozen=True)
class Relation(Generic[K]):
    """``Σ lhs == Σ rhs`` when ``exact``, else ``Σ lhs <= Σ rhs``."""

    lhs: tuple[K, ...]
    rhs: tuple[K, ...]
    exact: bool

    def cells(self) -> tuple[K, ...]:
        return self.lhs + self.rhs

    def coefficients(self) -> dict[K, int]:
        coefficients: dict[K, int] = {}
        for cell in self.lhs:
            coefficients[cell] = coefficients.get(cell, 0) + 1
        for cell in self.rhs:
            coefficients[cell] = coefficients.get(cell, 0) - 1
        return {cell: c for cell, c in coefficients.items() if c}


class _Protector(Generic[K]):
    def __init__(
        self,
        values: Mapping[K, int],
        relations_of: Callable[[K], Iterable[Relation[K]]],
        cost: Callable[[K], Any],
    ) -> None:
        self.values = values
        self.relations_of = relations_of
        self.cost = cost
        self.status: dict[K, Status] = {}
        self._lines: dict[K, list[dict[K, int]]] = {}
        self._binding: dict[Relation[K], dict[K, int]] = {}
        # Withheld cells joined by binding relations (union-find; groups only ever merge),
        # and the groups not checked since they last grew.
        self._parent: dict[K, K] = {}
        self._members: dict[K, list[K]] = {}
        self._unchecked: set[K] = set()

    def value(self, cell: K) -> int:
        return self.values.get(cell, 0)

    def lines(self, cell: K) -> list[dict[K, int]]:
        """The binding relations through ``cell``, as coefficient maps (one object each)."""
        cached = self._lines.get(cell)
        if cached is None:
            cached = []
            for relation in self.relations_of(cell):
                line = self._binding.get(relation)
                if line is None:
                    tight = relation.exact or sum(map(self.value, relation.lhs)) == sum(
                        map(self.value, relation.rhs)
                    )
                    line = self._binding[relation] = relation.coefficients() if tight else {}
                if line:
                    cached.append(line)
            self._lines[cell] = cached
        return cached

    def _root(self, cell: K) -> K:
        parent = self._parent
        while parent[cell] != cell:
            parent[cell] = parent[parent[cell]]
            cell = parent[cell]
        return cell

    def withhold(self, cell: K, status: Status) -> None:
        self.status[cell] = status
        self._parent[cell] = cell
        self._members[cell] = [cell]
        self._unchecked.add(cell)
        for line in self.lines(cell):
            for member in line:
                if member in self._parent:
                    self._join(cell, member)

    def _join(self, a: K, b: K) -> None:
        a, b = self._root(a), self._root(b)
        if a == b:
            return
        if len(self._members[a]) < len(self._members[b]):
            a, b = b, a
        self._parent[b] = a
        self._members[a].extend(self._members.pop(b))
        self._unchecked.discard(b)
        self._unchecked.add(a)

    def _cheapest(self, cells: Iterable[K]) -> K | None:
        candidates = [c for c in cells if c not in self.status and self.value(c) > 0]
        return min(candidates, key=self.cost) if candidates else None

    def fill_lines(self, queue: deque[K]) -> None:
        """Step 1: no binding relation keeps exactly one withheld cell."""
        while queue:
            cell = queue.popleft()
            for line in self.lines(cell):
                if sum(1 for member in line if member in self.status) != 1:
                    continue
                partner = self._cheapest(line)
                if partner is not None:
                    self.withhold(partner, "secondary")
                    queue.append(partner)

    def determined(self) -> list[K]:
        """Step 2: determined cells of every group of withheld cells that grew.

        A group found safe stays safe (withholding more never pins a cell down), so it is
        checked again only when it grows. Of a group's determined cells, those sharing no
        relation are returned together (each gets its own complement in one round).
        """
        found: list[K] = []
        for group_root in list(self._unchecked):
            group = self._members[group_root]
            seen: set[int] = set()
            rows: list[dict[K, int]] = []
            for cell in group:
                for line in self.lines(cell):
                    if id(line) not in seen:
                        seen.add(id(line))
                        rows.append({m: c % PRIME for m, c in line.items() if m in self.status})
            self._unchecked.discard(group_root)
            taken: set[int] = set()
            for cell in sorted(_unit_pivots(rows), key=self.cost):
                mine = {id(line) for line in self.lines(cell)}
                if not mine & taken:
                    taken |= mine
                    found.append(cell)
        return found

    def nearest(self, cell: K) -> K | None:
        """The cheapest positive published cell at the fewest relations' distance."""
        frontier, visited = [cell], {cell}
        while frontier:
            ring: list[K] = []
            for current in frontier:
                for line in self.lines(current):
                    ring.extend(m for m in line if m not in visited)
            visited.update(ring)
            found = self._cheapest(ring)
            if found is not None:
                return found
            frontier = list(dict.fromkeys(ring))
        return None

    def run(self, primary: list[K]) -> dict[K, Status]:
        for cell in primary:
            self.withhold(cell, "primary")
        queue = deque(primary)
        while True:
            self.fill_lines(queue)
            for cell in self.determined():
                partner = self.nearest(cell)
                if partner is not None and partner not in self.status:
                    self.withhold(partner, "secondary")
                    queue.append(partner)
            if not queue:
                return self.status


def _unit_pivots(rows: list[dict[K, int]]) -> list[K]:
    """Columns whose reduced row-echelon row is the unit vector (determined unknowns)."""
    pivots: dict[K, dict[K, int]] = {}
    holders: dict[K, set[K]] = {}  # column -> pivot columns whose row has an entry there

    def put(pivot: K, column: K, value: int) -> None:
        row = pivots[pivot]
        if value:
            row[column] = value
            holders.setdefault(column, set()).add(pivot)
        elif column in row:
            del row[column]
            holders[column].discard(pivot)

    for original in sorted(rows, key=len):  # short rows first: less fill-in
        row = dict(original)
        for column in [c for c in row if c in pivots]:
            factor = row.get(column, 0)
            if factor:
                for other, value in pivots[column].items():
                    updated = (row.get(other, 0) - factor * value) % PRIME
                    if updated:
                        row[other] = updated
                    else:
                        row.pop(other, None)
        if not row:
            continue
        pivot = min(row, key=lambda c: len(holders.get(c, ())))
        inverse = pow(row[pivot], PRIME - 2, PRIME)
        row = {c: v * inverse % PRIME for c, v in row.items()}
        for holder in list(holders.get(pivot, ())):
            target = pivots[holder]
            factor = target[pivot]
            for column, value in row.items():
                put(holder, column, (target.get(column, 0) - factor * value) % PRIME)
        pivots[pivot] = {}
        for column, value in row.items():
            put(pivot, column, value)
    return [pivot for pivot, row in pivots.items() if len(row) == 1]


def protect(
    values: Mapping[K, int],
    relations_of: Callable[[K], Iterable[Relation[K]]],
    k: int,
    *,
    cost: Callable[[K], Any] | None = None,
) -> dict[K, Status]:
    """Cells to withhold, each ``primary`` (1..k−1) or ``secondary`` (complementary).

    ``values`` holds every published cell (missing cells count as zero); ``relations_of(cell)``
    yields every relation the cell takes part in; ``cost(cell)`` orders the candidates for
    complementary suppression (default: the smallest count first).
    """
    if k < 2:
        raise ValueError("k must be at least 2")
    order = cost if cost is not None else (lambda cell: values.get(cell, 0))
    primary = sorted((cell for cell, value in values.items() if 1 <= value < k), key=order)
    return _Protector(values, relations_of, order).run(primary)
