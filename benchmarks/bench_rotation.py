"""Key rotation of 1,000,000 stored pseudonyms: time and peak memory (issue 3).

Seeds persons, their national pseudonyms and one case each with bulk inserts, then runs
``gateway.privacy.rotation.rotate`` (one transaction) in a child process, so that its peak
RSS is the rotation's own (SQLite's page cache is raised to 256 MiB for the rotation:
``rotation.SQLITE_CACHE_MIB``). The baseline, in the same run and database, is a bare
``executemany`` of ``UPDATE ... WHERE id = ?`` with values
computed beforehand, of every pseudonym and every case: the writes a rotation cannot avoid.

    python benchmarks/bench_rotation.py [--pseudonyms 1000000] [--cases N] [--json]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

PostgreSQL runs too when ``--postgres`` or ``LGNET_TEST_POSTGRES_URL`` is given (in a schema
of its own, dropped afterwards).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, bindparam, create_engine, insert, select, text, update

from gateway.privacy import rotation
from gateway.privacy.keys import NATIONAL, Keyring
from gateway.privacy.pseudonyms import Pseudonymiser
from gateway.privacy.store import cases, key_versions, persons, pseudonyms
from gateway.storage import make_engine, normalise_url, upgrade

CHUNK = 50_000
NOW = datetime(2025, 6, 1, tzinfo=UTC)


def keyring_from_env() -> Keyring:
    return Keyring.from_mapping(json.loads(os.environ["BENCH_KEYS"]))


def seed(engine: Engine, count: int, case_count: int) -> float:
    """Persons, national pseudonyms (version 1) and cases, in bulk; returns seconds."""
    pseudonymiser = Pseudonymiser(keyring_from_env())
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(
            insert(key_versions), [{"domain": NATIONAL, "current_version": 1, "rotated_at": None}]
        )
        for start in range(0, count, CHUNK):
            ids = range(start + 1, min(start + CHUNK, count) + 1)
            tokens = [secrets.token_bytes(32) for _ in ids]
            conn.execute(
                insert(persons),
                [
                    {"id": i, "person_token": t, "created_at": NOW}
                    for i, t in zip(ids, tokens, strict=True)
                ],
            )
            values = pseudonymiser.pseudonyms(NATIONAL, tokens, 1)
            conn.execute(
                insert(pseudonyms),
                [
                    {"id": i, "person_id": i, "domain": NATIONAL, "key_version": 1, "value": v}
                    for i, v in zip(ids, values, strict=True)
                ],
            )
            conn.execute(
                insert(cases),
                [
                    {
                        "id": i,
                        "case_id": f"c-{i}",
                        "city": "roma",
                        "person_id": i,
                        "pid": v,
                        "key_version": 1,
                        "vulnerabilities": [],
                        "provenance": [],
                        "years_in_italy": "unknown",
                        "updated_at": NOW,
                        "feed_seq": i,
                    }
                    for i, v in zip(ids, values, strict=True)
                    if i <= case_count
                ],
            )
        conn.execute(text("UPDATE feed_state SET last_seq = :n WHERE id = 1"), {"n": case_count})
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


def rotate_child(url: str) -> None:
    """Run in the child: rotate national to version 2; print seconds and peak RSS.

    RSS is sampled every 5 ms (``ru_maxrss`` would include the parent's memory at fork).
    """
    import threading

    import psutil

    engine = make_engine(url)
    pseudonymiser = Pseudonymiser(keyring_from_env())
    with engine.connect() as conn:  # connect and import everything before measuring
        conn.execute(select(key_versions.c.domain)).all()
    process = psutil.Process()
    before = process.memory_info().rss
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.005):
            peak[0] = max(peak[0], process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    result = rotation.rotate(engine, pseudonymiser, NATIONAL, to_version=2)
    done.set()
    sampler.join()
    measured = {
        "seconds": result.seconds,
        "peak_rss": max(peak[0], process.memory_info().rss),
        "rss_before": before,
        "pseudonyms": result.pseudonyms,
        "cases": result.cases,
    }
    print(json.dumps(measured))


def baseline(engine: Engine, count: int, case_count: int) -> float:
    """Seconds for bare executemany UPDATEs of the rows a rotation writes, values precomputed:
    every pseudonym (value, version) and every case (pid, version, feed position)."""
    with engine.connect() as conn:
        ids = list(conn.execute(select(pseudonyms.c.id).order_by(pseudonyms.c.id)).scalars())
        case_ids = list(conn.execute(select(cases.c.id).order_by(cases.c.id)).scalars())
        last = conn.execute(text("SELECT last_seq FROM feed_state WHERE id = 1")).scalar_one()
    assert len(ids) == count and len(case_ids) == case_count
    work = [
        (
            update(pseudonyms)
            .where(pseudonyms.c.id == bindparam("pk"))
            .values(value=bindparam("new_value"), key_version=3),
            [{"pk": i, "new_value": f"n3_{i:028d}"} for i in ids],
        ),
        (
            update(cases)
            .where(cases.c.id == bindparam("pk"))
            .values(pid=bindparam("new_value"), key_version=3, feed_seq=bindparam("seq")),
            [
                {"pk": i, "new_value": f"n3_{i:028d}", "seq": last + n}
                for n, i in enumerate(case_ids, start=1)
            ],
        ),
    ]
    started = time.perf_counter()
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":  # the same page cache as the rotation's
            conn.exec_driver_sql(f"PRAGMA cache_size = -{rotation.SQLITE_CACHE_MIB * 1024}")
        for statement, rows in work:
            for start in range(0, len(rows), CHUNK):
                conn.execute(statement, rows[start : start + CHUNK])
    return time.perf_counter() - started


@contextmanager
def database(kind: str, base: str | None, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder}/rotation.db"
        return
    assert base is not None
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        separator = "&" if "?" in base else "?"
        yield f"{normalise_url(base)}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def run(kind: str, base: str | None, count: int, case_count: int) -> dict[str, float | str]:
    with tempfile.TemporaryDirectory() as folder, database(kind, base, Path(folder)) as url:
        engine = make_engine(url)
        upgrade(engine)
        seeded = seed(engine, count, case_count)
        engine.dispose()
        child = subprocess.run(
            [sys.executable, __file__, "--child", url],
            capture_output=True,
            text=True,
            check=True,
            env=os.environ.copy(),
        )
        measured = json.loads(child.stdout)
        assert measured["pseudonyms"] == count and measured["cases"] == case_count
        with engine.connect() as conn:
            left = conn.execute(
                select(pseudonyms.c.id).where(pseudonyms.c.key_version != 2).limit(1)
            ).first()
        assert left is None, "rotation left old pseudonyms"
        bare = baseline(engine, count, case_count)
        engine.dispose()
    return {
        "database": kind,
        "seed_seconds": seeded,
        "seconds": measured["seconds"],
        "peak_rss": measured["peak_rss"],
        "rss_before": measured["rss_before"],
        "baseline_seconds": bare,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pseudonyms", type=int, default=1_000_000)
    parser.add_argument("--cases", type=int, default=None, help="Default: one per pseudonym.")
    parser.add_argument("--postgres", default=os.environ.get("LGNET_TEST_POSTGRES_URL"))
    parser.add_argument("--json", action="store_true", help="JSON lines instead of text.")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        rotate_child(args.child)
        return
    os.environ["BENCH_KEYS"] = json.dumps(
        {"current": 2, "keys": {"1": secrets.token_hex(32), "2": secrets.token_hex(32)}}
    )
    count = args.pseudonyms
    case_count = count if args.cases is None else min(args.cases, count)
    kinds = ["sqlite"] + (["postgresql"] if args.postgres else [])
    results = []
    for kind in kinds:
        r = run(kind, args.postgres, count, case_count)
        rate = count / float(r["seconds"])
        results += [
            {
                "name": f"rotation.{kind}.rate",
                "value": round(rate),
                "unit": "pseudonyms/s",
                "limit": None,
                "ratio": round(float(r["baseline_seconds"]) / float(r["seconds"]), 3),
            },
            {
                "name": f"rotation.{kind}.seconds",
                "value": round(float(r["seconds"]), 2),
                "unit": "s",
                "limit": None,
                "ratio": None,
            },
            {
                "name": f"rotation.{kind}.peak_rss",
                "value": round(float(r["peak_rss"]) / 2**20),
                "unit": "MiB",
                "limit": None,
                "ratio": None,
            },
            {
                "name": f"rotation.{kind}.rss_growth",
                "value": round((float(r["peak_rss"]) - float(r["rss_before"])) / 2**20),
                "unit": "MiB",
                "limit": None,
                "ratio": None,
            },
            {
                "name": f"rotation.{kind}.bare_update",
                "value": round(count / float(r["baseline_seconds"])),
                "unit": "pseudonyms/s",
                "limit": None,
                "ratio": 1.0,
            },
        ]
    if args.json:
        for result in results:
            print(json.dumps(result))
        return
    print(f"rotation of {count:,} national pseudonyms and {case_count:,} cases, one transaction")
    for result in results:
        ratio = "" if result["ratio"] is None else f"   ratio to bare UPDATE {result['ratio']:.2f}"
        print(f"  {result['name']:<34} {result['value']:>12,} {result['unit']:<13}{ratio}")


if __name__ == "__main__":
    main()
