"""Pre-aggregation: the cube of distinct-people counts, refreshed from the change feed.

Distinct counts do not add up across periods or cities, so the cube stores, for every
calendar period (month, quarter, year, programme), KPI, area (each city and ``national``) and
breakdown category, the number of distinct people — and ``summary_people`` keeps each
person's facts as they were counted. A refresh reads the cases whose ``feed_seq`` is above
the watermark (every change of a case bumps it), recomputes the facts of their people (all
their cases, every city: their attributes are network-wide), and applies to the cube the
difference between each person's old and new contributions. No hook in the sync engine.

Concurrency: the refresh computes from a consistent snapshot without holding a lock, then
commits only if ``summary_state.generation`` is unchanged (another replica may have refreshed
meanwhile: then it starts again). A change of the KPI definitions or of the programme window
rebuilds everything.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from gateway.storage.summaries import (
    SummaryCaseRow,
    SummaryCellRow,
    SummaryPersonRow,
    SummaryStateRow,
)
from gateway.storage.tables import CaseReferralRow, CaseRow, CaseServiceRow
from gateway.summaries.kpis import (
    NATIONAL,
    CaseInput,
    CubeKey,
    Head,
    PersonFacts,
    ServiceInput,
    areas,
    heads,
    person_facts,
    profile,
)
from gateway.summaries.periods import Period, programme_period
from gateway.summaries.targets import programme

# Bump whenever gateway.summaries.kpis changes what is counted: the next refresh rebuilds.
DEFINITIONS_VERSION = 1
CHUNK = 900  # bound parameters per IN list (SQLite allows 32766, PostgreSQL 65535)
MAX_ATTEMPTS = 5
COUNTED_SERVICES = ("housing_support", "civic_engagement_project")
_KEY = ("granularity", "period", "kpi", "area", "dimension", "category")

Progress = Callable[[int, int], None]
T = TypeVar("T")


class RefreshConflictError(RuntimeError):
    """Other replicas kept refreshing at the same time: retry the request later."""


@dataclass(frozen=True)
class RefreshResult:
    """What a refresh did: ``people`` recomputed, ``cells`` changed, the new watermark."""

    rebuilt: bool
    cases: int
    people: int
    cells: int
    watermark: int


class _Tally:
    """The change of every cube cell: +1 per cell a person now counts in, −1 per cell they
    counted in before (most cancel out for a person whose change does not move them).

    A rebuild counts some 170 cells per person, so cells are counted as integers — a head
    number (granularity, period, kpi, area) times ``_STRIDE`` plus a (dimension, category)
    number — and turned back into keys once at the end: many times cheaper than hashing
    tuples of strings. Most people have a KPI's events in one city only; their national
    heads are the city's, so one number stands for both heads.
    """

    _STRIDE = 1 << 16

    def __init__(self) -> None:
        self._head_ids: dict[tuple[Head, ...], int] = {}
        self._heads: list[tuple[Head, ...]] = []
        self._cell_ids: dict[tuple[str, str], int] = {}
        self._cells: list[tuple[str, str]] = []
        self._counts: Counter[int] = Counter()
        self._head_cache: dict[tuple[str, str, frozenset[int], bool], list[tuple[int, int]]] = {}
        self._profile_cache: dict[tuple[object, ...], list[int]] = {}
        self.changed = 0

    def _head(self, head: Head, national: bool) -> int:
        both = (head, (*head[:3], NATIONAL)) if national else (head,)
        found = self._head_ids.get(both)
        if found is None:
            found = self._head_ids[both] = len(self._heads) * self._STRIDE
            self._heads.append(both)
        return found

    def _cell(self, cell: tuple[str, str]) -> int:
        found = self._cell_ids.get(cell)
        if found is None:
            found = self._cell_ids[cell] = len(self._cells)
            self._cells.append(cell)
        return found

    def add(self, facts: PersonFacts, window: Period, sign: int) -> None:
        # Heads and profiles repeat across people: both are numbered once and cached.
        bases: list[tuple[int, int]] = []
        groups = areas(facts)
        cities = Counter(kpi for kpi, area in groups if area != NATIONAL)
        for (kpi, area), months in groups.items():
            single = cities[kpi] == 1
            if single and area == NATIONAL:
                continue  # counted with the city's heads
            key = (kpi, area, months, single)
            found = self._head_cache.get(key)
            if found is None:
                found = self._head_cache[key] = [
                    (self._head(h, single), year) for h, year in heads(kpi, area, months, window)
                ]
            bases.extend(found)
        cells: dict[int, list[int]] = {}
        for year in {year for _, year in bases}:
            who = (facts.sex, facts.area, facts.vulnerabilities, facts.birth_year, year)
            ids = self._profile_cache.get(who)
            if ids is None:
                ids = self._profile_cache[who] = [self._cell(c) for c in profile(facts, year)]
            cells[year] = ids
        keys = [base + cell for base, year in bases for cell in cells[year]]
        if sign > 0:
            self._counts.update(keys)  # counted in C
        else:
            self._counts.subtract(keys)

    def cells(self) -> dict[CubeKey, int]:
        """Non-zero changes only."""
        cells: dict[CubeKey, int] = {}
        for key, n in self._counts.items():
            if n:
                index, cell = divmod(key, self._STRIDE)
                for head in self._heads[index]:
                    full = head + self._cells[cell]
                    cells[full] = cells.get(full, 0) + n
        changed = {key: n for key, n in cells.items() if n}
        self.changed = len(changed)
        return changed


@dataclass
class _Plan:
    generation: int
    watermark: int
    rebuild: bool
    cases: int
    facts: dict[str, str | None] = field(default_factory=dict)  # pid -> new facts (None: gone)
    forget_cases: set[int] = field(default_factory=set)
    case_pids: list[tuple[int, str]] = field(default_factory=list)
    delta: _Tally = field(default_factory=lambda: _Tally())


def definitions_fingerprint() -> str:
    return f"v{DEFINITIONS_VERSION};{programme().fingerprint}"


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _load_people(conn: Connection, pids: Sequence[str]) -> dict[str, list[CaseInput]]:
    """Every case (with its counted services and referral dates) of these people."""
    rows = conn.execute(
        select(
            CaseRow.id,
            CaseRow.pid,
            CaseRow.city,
            CaseRow.feed_seq,
            CaseRow.sex,
            CaseRow.birth_year,
            CaseRow.citizenship,
            CaseRow.opened_on,
            CaseRow.intake_channel,
            CaseRow.vulnerabilities,
        ).where(CaseRow.pid.in_(pids))
    ).all()
    services: dict[int, list[ServiceInput]] = {}
    referrals: dict[int, list[dt.date | None]] = {}
    if rows:
        service_rows = conn.execute(
            select(
                CaseServiceRow.case_pk,
                CaseServiceRow.type,
                CaseServiceRow.start,
                CaseServiceRow.end,
                CaseServiceRow.status,
            )
            .join(CaseRow, CaseRow.id == CaseServiceRow.case_pk)
            .where(CaseRow.pid.in_(pids), CaseServiceRow.type.in_(COUNTED_SERVICES))
        )
        for case_pk, kind, start, end, status in service_rows:
            services.setdefault(case_pk, []).append(ServiceInput(kind, start, end, status))
        referral_rows = conn.execute(
            select(CaseReferralRow.case_pk, CaseReferralRow.date)
            .join(CaseRow, CaseRow.id == CaseReferralRow.case_pk)
            .where(CaseRow.pid.in_(pids))
        )
        for case_pk, day in referral_rows:
            referrals.setdefault(case_pk, []).append(day)
    people: dict[str, list[CaseInput]] = {}
    for row in rows:
        people.setdefault(row.pid, []).append(
            CaseInput(
                pk=row.id,
                city=row.city,
                feed_seq=row.feed_seq,
                sex=row.sex,
                birth_year=row.birth_year,
                citizenship=row.citizenship,
                opened_on=row.opened_on,
                intake_channel=row.intake_channel,
                vulnerabilities=tuple(row.vulnerabilities or ()),
                services=tuple(services.get(row.id, ())),
                referral_dates=tuple(referrals.get(row.id, ())),
            )
        )
    return people


def _plan(engine: Engine, progress: Progress | None) -> _Plan | None:
    """Read what changed and compute the new facts and the cube delta (no lock held)."""
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        # One snapshot for every read, so the watermark matches the cases read.
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
    with conn, conn.begin():
        state = conn.execute(
            select(
                SummaryStateRow.generation, SummaryStateRow.watermark, SummaryStateRow.definitions
            ).where(SummaryStateRow.id == 1)
        ).one()
        head = conn.execute(select(func.coalesce(func.max(CaseRow.feed_seq), 0))).scalar_one()
        rebuild = state.definitions != definitions_fingerprint()
        if not rebuild and head <= state.watermark:
            return None
        plan = _Plan(
            generation=state.generation,
            watermark=max(head, state.watermark),
            rebuild=rebuild,
            cases=0,
        )
        window = programme_period(programme())
        old: dict[str, str] = {}
        if rebuild:
            pids = list(
                conn.execute(select(CaseRow.pid).distinct().order_by(CaseRow.pid)).scalars()
            )
            plan.cases = conn.execute(select(func.count()).select_from(CaseRow)).scalar_one()
        else:
            changed = conn.execute(
                select(CaseRow.id, CaseRow.pid).where(CaseRow.feed_seq > state.watermark)
            ).all()
            plan.cases = len(changed)
            plan.forget_cases = {row.id for row in changed}
            affected = {row.pid for row in changed}
            for case_pks in _chunks(sorted(plan.forget_cases)):
                affected.update(
                    conn.execute(
                        select(SummaryCaseRow.pid).where(SummaryCaseRow.case_pk.in_(case_pks))
                    ).scalars()
                )
            pids = sorted(affected)
            for chunk in _chunks(pids):
                rows = conn.execute(
                    select(SummaryPersonRow.pid, SummaryPersonRow.facts).where(
                        SummaryPersonRow.pid.in_(chunk)
                    )
                )
                old.update((pid, facts) for pid, facts in rows)
        for done, chunk in enumerate(_chunks(pids)):
            people = _load_people(conn, chunk)
            for pid in chunk:
                previous = old.get(pid)
                if previous is not None:
                    plan.delta.add(PersonFacts.from_json(previous), window, -1)
                cases = people.get(pid)
                if not cases:
                    plan.facts[pid] = None
                    continue
                facts = person_facts(cases)
                plan.facts[pid] = facts.to_json()
                plan.delta.add(facts, window, +1)
                plan.case_pids.extend((case.pk, pid) for case in cases)
                plan.forget_cases.update(case.pk for case in cases)
            if progress is not None:
                progress(min((done + 1) * CHUNK, len(pids)), len(pids))
        return plan


def _upsert_cells(conn: Connection, rows: list[dict[str, object]]) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(SummaryCellRow)
    statement = statement.on_conflict_do_update(
        index_elements=list(_KEY),
        set_={"count": SummaryCellRow.count + statement.excluded.count},
    )
    conn.execute(statement, rows)


# Cells that fell to zero go: the cube holds only people actually counted.
_DELETE_EMPTY = delete(SummaryCellRow).where(
    *(getattr(SummaryCellRow, name) == bindparam(f"k_{name}") for name in _KEY),
    SummaryCellRow.count == 0,
)


class _Superseded(Exception):
    pass


def _apply(engine: Engine, plan: _Plan) -> bool:
    """Write the plan if no other refresh committed since it was computed."""
    try:
        with engine.begin() as conn:
            claimed = conn.execute(
                update(SummaryStateRow)
                .where(SummaryStateRow.id == 1, SummaryStateRow.generation == plan.generation)
                .values(
                    generation=plan.generation + 1,
                    watermark=plan.watermark,
                    definitions=definitions_fingerprint(),
                    refreshed_at=dt.datetime.now(dt.UTC),
                )
            )
            if claimed.rowcount != 1:
                raise _Superseded
            if plan.rebuild:
                for table in (SummaryCellRow, SummaryPersonRow, SummaryCaseRow):
                    conn.execute(delete(table))
            else:
                for chunk in _chunks(sorted(plan.facts)):
                    conn.execute(delete(SummaryPersonRow).where(SummaryPersonRow.pid.in_(chunk)))
                for case_pks in _chunks(sorted(plan.forget_cases)):
                    conn.execute(delete(SummaryCaseRow).where(SummaryCaseRow.case_pk.in_(case_pks)))
            people = [{"pid": p, "facts": f} for p, f in plan.facts.items() if f is not None]
            if people:
                conn.execute(insert(SummaryPersonRow), people)
            if plan.case_pids:
                conn.execute(
                    insert(SummaryCaseRow), [{"case_pk": c, "pid": p} for c, p in plan.case_pids]
                )
            changes = plan.delta.cells()
            rows: list[dict[str, object]] = [
                {**dict(zip(_KEY, key, strict=True)), "count": n} for key, n in changes.items()
            ]
            if rows and plan.rebuild:
                conn.execute(insert(SummaryCellRow), rows)
            elif rows:
                _upsert_cells(conn, rows)
                emptied = [
                    {f"k_{name}": part for name, part in zip(_KEY, key, strict=True)}
                    for key, n in changes.items()
                    if n < 0
                ]
                if emptied:
                    conn.execute(_DELETE_EMPTY, emptied)
    except _Superseded:
        return False
    return True


def refresh(engine: Engine, *, progress: Progress | None = None) -> RefreshResult:
    """Bring the cube up to date with the cases; cheap (two indexed reads) when nothing changed."""
    for _attempt in range(MAX_ATTEMPTS):
        plan = _plan(engine, progress)
        if plan is None:
            with engine.connect() as conn:
                mark = conn.execute(
                    select(SummaryStateRow.watermark).where(SummaryStateRow.id == 1)
                ).scalar_one()
            return RefreshResult(rebuilt=False, cases=0, people=0, cells=0, watermark=mark)
        if _apply(engine, plan):
            return RefreshResult(
                rebuilt=plan.rebuild,
                cases=plan.cases,
                people=len(plan.facts),
                cells=plan.delta.changed,
                watermark=plan.watermark,
            )
    raise RefreshConflictError("summaries are being refreshed by other processes; retry")
