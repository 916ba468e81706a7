"""Summary requests over 1,000,000 cases, on SQLite and PostgreSQL, against a bare count.

    python benchmarks/bench_summaries.py                           # SQLite (+ PostgreSQL if the
                                                                   #  env var below is set)
    python benchmarks/bench_summaries.py --postgres URL --json     # also JSON lines
    python benchmarks/bench_summaries.py --cases 100000            # smaller

Goal (issue 9): a summary request over 1,000,000 cases answers in <= 300 ms on each database,
shown beside ``SELECT count(DISTINCT pid) FROM cases`` on the same table in the same run. A
request here is the whole ``summarise()``: the feed-watermark check (and refresh, none when
nothing changed), the cube read, disclosure control, the JSON body. Also shown: the first
build of the cube, a request right after 1,000 cases changed (incremental refresh), and a
stress request (a year by month with every breakdown: 75,000 cells, thousands withheld).

Cases are seeded with bulk Core inserts: ~850k people, 15% of them in two cities, services
and referrals in realistic proportions. PostgreSQL runs in a schema of its own, dropped at the
end (URL from ``--postgres`` or ``LGNET_TEST_POSTGRES_URL``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Connection, Engine, create_engine, func, insert, select, text, update

from gateway.storage import make_engine, normalise_url, upgrade
from gateway.storage.tables import (
    CaseReferralRow,
    CaseRow,
    CaseServiceRow,
    FeedStateRow,
    SourceRecordRow,
)
from gateway.summaries.preaggregate import refresh
from gateway.summaries.render import to_json
from gateway.summaries.report import SummaryRequest, summarise

LIMIT_MS = 300
BATCH = 50_000
NOW = dt.datetime(2026, 6, 30, tzinfo=dt.UTC)
CITIES = [
    ("roma", 14), ("milano", 12), ("napoli", 10), ("torino", 9), ("palermo", 7), ("bologna", 6),
    ("genova", 6), ("firenze", 5), ("catania", 5), ("bolzano", 3), ("trieste", 3), ("latina", 3),
    ("caserta", 3), ("taranto", 3), ("perugia", 3), ("agrigento", 2), ("sassari", 2),
    ("potenza", 2),
]  # fmt: skip
COUNTRIES = [
    "ROU", "ALB", "MAR", "UKR", "CHN", "IND", "PHL", "BGD", "EGY", "PAK", "NGA", "SEN", "TUN",
    "PER", "ECU", "LKA", "MDA", "GHA", "CIV", "GMB", "MLI", "AFG", "ERI", "SOM", "SDN", "BRA",
    "COL", "GEO", "TUR", "IRN", "SYR", "IRQ", "GIN", "CMR", "ETH", "DZA", "LBY", "VEN", "CUB",
    "ITA",
]  # fmt: skip
VULNERABILITIES = [
    "homelessness", "housing_exclusion", "unaccompanied_minor_transition", "single_parent",
    "pregnancy", "disability", "chronic_illness", "mental_health", "torture_survivor",
    "trafficking_victim", "gender_based_violence", "elderly", "addiction", "unemployment",
    "no_income",
]  # fmt: skip
CHANNELS = ["mobile_unit"] * 4 + ["one_stop_shop"] * 4 + ["service_referral", "self_presented"]

REQUESTS = {
    "programme, all cities, 4 breakdowns": SummaryRequest.parse(
        by=["sex", "age_band", "citizenship_area", "vulnerability"]
    ),
    "quarters of 2025, all cities, by sex": SummaryRequest.parse(
        by=["quarter", "sex"], start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31)
    ),
    "months of 2025, all cities": SummaryRequest.parse(
        by=["month"], start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31)
    ),
}
# Beyond the goal, shown for scale: 75,000 cells, thousands of them withheld.
STRESS = {
    "months of 2025, all cities, 4 breakdowns": SummaryRequest.parse(
        by=["month", "sex", "age_band", "citizenship_area", "vulnerability"],
        start=dt.date(2025, 1, 1),
        end=dt.date(2025, 12, 31),
    ),
}


def day(rng: random.Random, first: dt.date, days: int) -> dt.date:
    return first + dt.timedelta(days=rng.randrange(days))


def rows(cases: int, seed: int = 9) -> Iterator[tuple[dict, list[dict], list[dict]]]:
    """(case, services, referrals) rows; ids and feed_seq are the row number."""
    rng = random.Random(seed)
    names, weights = zip(*CITIES, strict=True)
    person, n = 0, 0
    while n < cases:
        person += 1
        twice = rng.random() < 0.15
        cities = rng.sample(names, 2) if twice else rng.choices(names, weights)
        sex = rng.choice("FFMMMX") if rng.random() > 0.02 else None
        born = rng.randint(1950, 2008) if rng.random() > 0.03 else None
        country = rng.choice(COUNTRIES) if rng.random() > 0.02 else None
        for city in cities[: cases - n]:
            n += 1
            opened = day(rng, dt.date(2024, 1, 1), 900)
            case = {
                "id": n, "case_id": f"c{n:011d}", "city": city, "person_id": person,
                "pid": f"p{person:010d}", "key_version": 1, "sex": sex, "birth_year": born,
                "citizenship": country, "years_in_italy": "unknown",
                "opened_on": opened if rng.random() > 0.01 else None, "status": "open",
                "intake_channel": rng.choice(CHANNELS),
                "vulnerabilities": rng.sample(VULNERABILITIES, rng.choice([0, 0, 1, 1, 1, 2])),
                "provenance": [], "updated_at": NOW, "feed_seq": n,
            }  # fmt: skip
            services = []
            for kind, share in (
                ("housing_support", 0.15),
                ("civic_engagement_project", 0.08),
                ("language_course", 0.2),
            ):
                if rng.random() < share:
                    start = opened + dt.timedelta(days=rng.randrange(120))
                    done = rng.random() < 0.5
                    services.append(
                        {"case_pk": n, "source_record_pk": 1, "type": kind, "start": start,
                         "end": start + dt.timedelta(days=90) if done else None,
                         "status": "completed" if done else "active"}
                    )  # fmt: skip
            referrals = [
                {"case_pk": n, "source_record_pk": 1, "target": "health_service",
                 "date": opened + dt.timedelta(days=rng.randrange(60)), "outcome": "pending"}
                for _ in range(rng.choice([0, 0, 1, 1, 2]))
            ]  # fmt: skip
            yield case, services, referrals


def seed(engine: Engine, cases: int) -> float:
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(
            insert(SourceRecordRow),
            [{"id": 1, "city": "roma", "source": "bench", "record_key": "0" * 64,
              "content_hash": "0" * 64, "deleted": False, "received_at": NOW}],
        )  # fmt: skip
        batch: tuple[list[dict], list[dict], list[dict]] = ([], [], [])
        for case, services, referrals in rows(cases):
            batch[0].append(case)
            batch[1].extend(services)
            batch[2].extend(referrals)
            if len(batch[0]) >= BATCH:
                flush(conn, batch)
                batch = ([], [], [])
        flush(conn, batch)
        conn.execute(update(FeedStateRow).values(last_seq=cases))
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    return time.perf_counter() - started


def flush(conn: Connection, batch: tuple[list[dict], ...]) -> None:
    for table, items in zip((CaseRow, CaseServiceRow, CaseReferralRow), batch, strict=True):
        if items:
            conn.execute(insert(table), items)


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time in ms."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def change_cases(engine: Engine, count: int) -> None:
    """Change ``count`` cases as the sync engine would: new data, a new feed_seq each."""
    with engine.begin() as conn:
        head = conn.execute(select(func.max(CaseRow.feed_seq))).scalar_one()
        total = conn.execute(select(func.max(CaseRow.id))).scalar_one()
        for i, pk in enumerate(random.Random(head).sample(range(1, total + 1), count)):
            conn.execute(
                update(CaseRow)
                .where(CaseRow.id == pk)
                .values(sex="F", intake_channel="one_stop_shop", feed_seq=head + i + 1)
            )


def run(label: str, engine: Engine, cases: int, repeat: int) -> list[dict[str, object]]:
    print(f"[{label}] seeding {cases:,} cases ...", flush=True)
    upgrade(engine)
    seconds = seed(engine, cases)
    print(f"[{label}] seeded in {seconds:.0f} s; building the cube ...", flush=True)
    started = time.perf_counter()
    built = refresh(engine)
    build_s = time.perf_counter() - started
    print(f"[{label}] cube built in {build_s:.0f} s ({built.people:,} people)", flush=True)

    def count_distinct() -> None:
        with engine.connect() as conn:
            conn.execute(select(func.count(func.distinct(CaseRow.pid)))).scalar_one()

    base = timed(count_distinct, repeat)
    results: list[dict[str, object]] = [
        {"name": f"{label}: SELECT count(DISTINCT pid)", "value": round(base, 1), "unit": "ms",
         "limit": None, "ratio": 1.0},
        {"name": f"{label}: first cube build", "value": round(build_s * 1000), "unit": "ms",
         "limit": None, "ratio": round(build_s * 1000 / base, 1)},
    ]  # fmt: skip
    for name, request in [*REQUESTS.items(), *STRESS.items()]:

        def answer(request: SummaryRequest = request) -> bytes:
            return to_json(summarise(engine, request))  # what the API sends

        answer()  # warm the caches of the process, not the figures
        ms = timed(answer, repeat)
        limit = LIMIT_MS if name in REQUESTS else None
        results.append({"name": f"{label}: summary, {name}", "value": round(ms, 1), "unit": "ms",
                        "limit": limit, "ratio": round(ms / base, 3)})  # fmt: skip
    change_cases(engine, 1000)
    first = next(iter(REQUESTS.values()))
    ms = timed(lambda: summarise(engine, first), 1)
    results.append({"name": f"{label}: summary after 1,000 changed cases", "value": round(ms, 1),
                    "unit": "ms", "limit": None, "ratio": round(ms / base, 3)})  # fmt: skip
    return results


@contextmanager
def sqlite_engine() -> Iterator[Engine]:
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/bench.db")
        try:
            yield engine
        finally:
            engine.dispose()


@contextmanager
def postgres_engine(url: str) -> Iterator[Engine]:
    base = normalise_url(url)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    engine = make_engine(f"{base}{separator}options=-csearch_path%3D{schema}")
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", default=os.environ.get("LGNET_TEST_POSTGRES_URL"))
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--json", action="store_true", help="also print JSON lines")
    args = parser.parse_args()

    results: list[dict[str, object]] = []
    if not args.no_sqlite:
        with sqlite_engine() as engine:
            results += run("sqlite", engine, args.cases, args.repeat)
    if args.postgres:
        with postgres_engine(args.postgres) as engine:
            results += run("postgresql", engine, args.cases, args.repeat)

    print(f"\n{'measure':62} {'value':>10} {'unit':4} {'ratio':>8} {'goal':>8}")
    for r in results:
        goal = "" if r["limit"] is None else f"<= {r['limit']}"
        print(f"{r['name']:62} {r['value']:>10,} {r['unit']:4} {r['ratio']:>8} {goal:>8}")
    if args.json:
        for r in results:
            print(json.dumps(r))


if __name__ == "__main__":
    main()
