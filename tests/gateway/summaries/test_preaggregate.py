"""The cube refreshed incrementally by feed_seq equals the cube rebuilt from scratch."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select, update

from gateway.storage.summaries import SummaryCellRow, SummaryPersonRow, SummaryStateRow
from gateway.summaries import preaggregate
from gateway.summaries.preaggregate import refresh
from tests.gateway.summaries.builders import Case, Service, add_cases, change_case

CITIES = ["roma", "milano", "torino", "napoli"]


def cube(engine) -> dict[tuple, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                SummaryCellRow.granularity,
                SummaryCellRow.period,
                SummaryCellRow.kpi,
                SummaryCellRow.area,
                SummaryCellRow.dimension,
                SummaryCellRow.category,
                SummaryCellRow.count,
            )
        )
        return {tuple(row[:6]): row[6] for row in rows}


def rebuilt(engine) -> dict[tuple, int]:
    with engine.begin() as conn:
        conn.execute(update(SummaryStateRow).values(definitions=""))
    assert refresh(engine).rebuilt
    return cube(engine)


def random_case(rng: random.Random, pid: str, city: str) -> Case:
    day = dt.date(2025, rng.randint(1, 12), rng.randint(1, 28))
    return Case(
        pid=pid,
        city=city,
        opened_on=rng.choice([day, day, None]),
        channel=rng.choice(["mobile_unit", "one_stop_shop", "outreach_event"]),
        sex=rng.choice(["F", "M", None]),
        birth_year=rng.choice([1970, 1999, 2009, None]),
        citizenship=rng.choice(["MAR", "UKR", "PAK", None]),
        vulnerabilities=rng.sample(["homelessness", "no_income", "elderly"], rng.randint(0, 2)),
        services=[
            Service(
                rng.choice(["housing_support", "civic_engagement_project"]),
                rng.choice([day, None]),
                rng.choice([day, None]),
                rng.choice(["active", "completed", "planned"]),
            )
            for _ in range(rng.randint(0, 2))
        ],
        referrals=[rng.choice([day, None]) for _ in range(rng.randint(0, 2))],
    )


def test_incremental_refreshes_match_a_rebuild_after_every_kind_of_change(engine) -> None:
    rng = random.Random(7)
    cases: dict[int, Case] = {}
    first = [random_case(rng, f"person-{n:03d}", rng.choice(CITIES)) for n in range(30)]
    for pk, case in zip(add_cases(engine, first), first, strict=True):
        cases[pk] = case
    assert refresh(engine).rebuilt
    for step in range(4):
        # New cases (some for people already known, in another city)...
        fresh = []
        for n in range(5):
            pid = f"person-{rng.randint(0, 40):03d}"
            taken = {(c.pid, c.city) for c in cases.values()} | {(c.pid, c.city) for c in fresh}
            free = [city for city in CITIES if (pid, city) not in taken]
            if free:
                fresh.append(random_case(rng, pid, rng.choice(free)))
        for pk, case in zip(add_cases(engine, fresh), fresh, strict=True):
            cases[pk] = case
        # ... changed attributes, services and referrals ...
        for pk in rng.sample(sorted(cases), 6):
            changed = random_case(rng, cases[pk].pid, cases[pk].city)
            change_case(engine, pk, changed)
            cases[pk] = changed
        # ... and a pseudonym that changes (key rotation, or two people found to be one).
        pk = rng.choice(sorted(cases))
        moved = random_case(rng, f"rotated-{step}", cases[pk].city)
        change_case(engine, pk, moved)
        cases[pk] = moved
        result = refresh(engine)
        assert not result.rebuilt and result.cases > 0
        incremental = cube(engine)
        assert incremental == rebuilt(engine), f"step {step}"
        assert all(n > 0 for n in incremental.values())


def test_a_refresh_with_nothing_new_does_nothing(engine) -> None:
    add_cases(engine, [Case(pid="p1", city="roma")])
    assert refresh(engine).people == 1
    again = refresh(engine)
    assert (again.cases, again.people, again.cells, again.rebuilt) == (0, 0, 0, False)


def test_a_refresh_that_lost_the_race_starts_again(engine) -> None:
    add_cases(engine, [Case(pid="p1", city="roma")])
    plan = preaggregate._plan(engine, None)
    assert refresh(engine).people == 1  # another replica commits first
    assert preaggregate._apply(engine, plan) is False
    add_cases(engine, [Case(pid="p2", city="roma")])
    assert refresh(engine).people == 1
    assert (
        cube(engine)[("programme", "programme", "taken_in_charge", "roma", "total", "total")] == 2
    )


def test_a_new_programme_window_rebuilds(engine, monkeypatch) -> None:
    add_cases(engine, [Case(pid="p1", city="roma")])
    refresh(engine)
    monkeypatch.setattr(preaggregate, "definitions_fingerprint", lambda: "v1;other-window")
    assert refresh(engine).rebuilt


def test_people_facts_hold_no_identifier(engine) -> None:
    add_cases(engine, [Case(pid="pid-visible-only-as-key", city="roma")])
    refresh(engine)
    with engine.connect() as conn:
        facts = conn.execute(select(SummaryPersonRow.facts)).scalar_one()
    assert "pid-visible" not in facts and "case-" not in facts
