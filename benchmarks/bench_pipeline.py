"""End-to-end sync pipeline throughput, beside the raw limit on the same rows, in one run.

    python benchmarks/bench_pipeline.py                        # 100k rows, SQLite
    python benchmarks/bench_pipeline.py --postgres URL         # + PostgreSQL
    python benchmarks/bench_pipeline.py --rss                  # + peak RSS syncing 1M rows
    python benchmarks/bench_pipeline.py --json                 # also JSON lines

What is measured is ``lgnet sync`` of a CSV source (read → map → validate → pseudonymise →
link → store, one transaction per batch, cursor committed with each batch) into an empty,
migrated database, one process. The raw limit is bare ``csv.reader`` over the same file plus a
SQLite ``executemany`` of the same row count into a plain table (BRIEF §12); the ratio is the
pipeline's rate over that limit (goal >= 0.3). Goals (issue 7): >= 50,000 records/s on SQLite,
>= 25,000 records/s on PostgreSQL, peak RSS < 300 MB syncing a 1,000,000-row CSV.

The generated rows are synthetic people; one person in ten has two records (linkage joins
them) and one row in a thousand is bad (quarantined).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from gateway.settings import load_settings  # noqa: E402
from gateway.storage import make_engine, normalise_url, upgrade  # noqa: E402
from gateway.sync import sources  # noqa: E402
from gateway.sync.runner import sync_source  # noqa: E402
from tests.gateway.sync.synthetic import write_csv, write_definition  # noqa: E402

BATCH = 5000


def raw_limit(path: Path, folder: Path) -> float:
    """Rows/s of bare ``csv.reader`` + SQLite ``executemany`` of the same rows."""
    db = folder / "raw.sqlite"
    connection = sqlite3.connect(db, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    started = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter=";")
        header = next(reader)
        columns = ", ".join(f"c{i}" for i in range(len(header)))
        connection.execute(f"CREATE TABLE raw ({columns})")
        insert = f"INSERT INTO raw VALUES ({', '.join('?' * len(header))})"
        rows = 0
        while True:
            chunk = [row for _, row in zip(range(BATCH), reader, strict=False)]
            if not chunk:
                break
            connection.execute("BEGIN")
            connection.executemany(insert, chunk)
            connection.execute("COMMIT")
            rows += len(chunk)
    elapsed = time.perf_counter() - started
    connection.close()
    return rows / elapsed


def pipeline_rate(url: str, mappings: Path, records: int) -> float:
    """Records/s of one sync of the whole file into an empty database."""
    engine = make_engine(url)
    upgrade(engine)
    settings = load_settings(mappings_dir=mappings, database_url=url, sync_batch_size=BATCH)
    source = sources.find(settings, "roma", "welfare-csv")
    source.mapper  # compile outside the timing  # noqa: B018
    started = time.perf_counter()
    result = sync_source(engine, settings, source)
    elapsed = time.perf_counter() - started
    engine.dispose()
    assert result.ok, result.error
    assert result.report.read == records, result.report
    return records / elapsed


def postgres_schema(base: str) -> tuple[str, object]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = normalise_url(base)
    url += ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return url, drop


def peak_rss_mb(folder: Path, mappings_rows: int) -> float:
    """Peak RSS (MB) of an ``lgnet sync`` subprocess over a ``mappings_rows``-row CSV."""
    big = write_csv(folder / "big.csv", mappings_rows, persons=mappings_rows * 9 // 10)
    mappings = folder / "big-mappings"
    write_definition(mappings, path=str(big))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LGNET_DATABASE_URL": f"sqlite:///{folder}/big.sqlite",
        "LGNET_MAPPINGS_DIR": str(mappings),
        "LGNET_SYNC_BATCH_SIZE": str(BATCH),
    }
    command = "from gateway.cli import main; main()"
    subprocess.run(
        [sys.executable, "-c", command, "sync", "--quiet"],
        env=env,
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--postgres", default=os.environ.get("LGNET_TEST_POSTGRES_URL"))
    parser.add_argument("--rss", action="store_true", help="also sync 1M rows in a subprocess")
    parser.add_argument("--rss-records", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true", help="also print JSON lines")
    args = parser.parse_args()

    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        drop = write_csv(
            folder / "export.csv", args.records, persons=args.records * 9 // 10, bad_every=1000
        )
        mappings = folder / "mappings"
        write_definition(mappings, path=str(drop))
        raw = raw_limit(drop, folder)
        results.append(
            {"name": "raw limit: csv.reader + sqlite executemany", "value": round(raw),
             "unit": "rows/s", "limit": None, "ratio": 1.0}
        )  # fmt: skip
        rate = pipeline_rate(f"sqlite:///{folder}/pipeline.sqlite", mappings, args.records)
        results.append(
            {"name": "pipeline, SQLite", "value": round(rate), "unit": "records/s",
             "limit": 50_000, "ratio": round(rate / raw, 3)}
        )  # fmt: skip
        if args.postgres:
            url, drop_schema = postgres_schema(args.postgres)
            try:
                pg = pipeline_rate(url, mappings, args.records)
            finally:
                drop_schema()  # type: ignore[operator]
            results.append(
                {"name": "pipeline, PostgreSQL", "value": round(pg), "unit": "records/s",
                 "limit": 25_000, "ratio": round(pg / raw, 3)}
            )  # fmt: skip
        if args.rss:
            peak = peak_rss_mb(folder, args.rss_records)
            results.append(
                {"name": f"peak RSS, sync of {args.rss_records:,} rows", "value": round(peak, 1),
                 "unit": "MB", "limit": 300, "ratio": round(peak / 300, 3)}
            )  # fmt: skip

    print(f"{args.records:,} CSV records, one process")
    print(f"{'measure':44} {'value':>10} {'unit':10} {'ratio':>7} {'goal':>12}")
    for r in results:
        limit = r["limit"]
        goal = "" if limit is None else (f"<= {limit}" if r["unit"] == "MB" else f">= {limit:,}")
        print(f"{r['name']:44} {r['value']:>10,} {r['unit']:10} {r['ratio']:>7} {goal:>12}")
    print("ratio: the pipeline's rate over the raw limit (goal >= 0.3); RSS: over 300 MB")
    if args.json:
        for r in results:
            print(json.dumps(r))


if __name__ == "__main__":
    main()
