"""Crash safety (BRIEF §8): a sync killed with SIGKILL at random points, then restarted, ends
with exactly the database an uninterrupted sync makes — same cases, same counts, no duplicate,
the cursor at the end of the file. On SQLite and PostgreSQL.

The sync runs as a real ``lgnet sync`` subprocess over a generated CSV export of
``LGNET_CRASH_RECORDS`` rows (default 100,000); one person in ten has two records, and one row
in a thousand is bad (quarantined), so linkage and quarantine are crash-tested too.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid

import pytest
from sqlalchemy import create_engine, text

from gateway.storage import make_engine, upgrade
from gateway.sync import runs
from tests.conftest import postgres_url
from tests.gateway.sync.synthetic import write_csv, write_definition

RECORDS = int(os.environ.get("LGNET_CRASH_RECORDS", "100000"))
KILLS = 3
CLI = "from gateway.cli import main; main()"

pytestmark = pytest.mark.slow


@pytest.fixture
def other_database_url(database_url, tmp_path):
    """A second empty database of the same kind as ``database_url``."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/reference.db"
        return
    base = postgres_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def sync_process(url: str, mappings: str) -> subprocess.Popen[bytes]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LGNET_DATABASE_URL": url,
        "LGNET_MAPPINGS_DIR": mappings,
        "LGNET_SYNC_BATCH_SIZE": "5000",
    }
    return subprocess.Popen(
        [sys.executable, "-c", CLI, "sync", "roma", "welfare-csv", "--quiet"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def run_to_end(url: str, mappings: str) -> None:
    process = sync_process(url, mappings)
    _, err = process.communicate(timeout=900)
    assert process.returncode == 0, err.decode()


def ingest_seconds(url: str) -> float:
    """How long the (only) finished run took, from the run log: process start-up excluded."""
    engine = make_engine(url)
    try:
        [run] = runs.runs_of(engine, "roma", "welfare-csv")
    finally:
        engine.dispose()
    assert run.status == "ok" and run.finished_at is not None
    return (run.finished_at - run.started_at).total_seconds()


def stored_records(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            return c.execute(text("SELECT count(*) FROM source_records")).scalar_one()
    finally:
        engine.dispose()


def kill_while_ingesting(url: str, mappings: str, delay: float) -> int | None:
    """Start a sync, wait until it has committed a batch, then SIGKILL it ``delay`` seconds
    later; return how many records were stored when it was killed (None: it finished)."""
    before = stored_records(url)
    process = sync_process(url, mappings)
    try:
        while process.poll() is None and stored_records(url) == before:
            time.sleep(0.02)
        time.sleep(delay)
        if process.poll() is not None:
            return None
        process.send_signal(signal.SIGKILL)
        process.wait(60)
        return stored_records(url)
    finally:
        process.kill()
        process.communicate(timeout=60)


def snapshot(url: str) -> dict[str, object]:
    """Everything that must match, without what is random by design (pids, case ids, keys)."""
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            counts = {
                table: c.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in (
                    "cases", "source_records", "case_services", "case_referrals", "quarantine",
                    "identity_tokens", "pseudonyms",
                )
            }  # fmt: skip
            counts["persons"] = c.execute(
                text("SELECT count(*) FROM persons WHERE merged_into IS NULL")
            ).scalar_one()
            records: dict[int, list[str]] = {}
            for case_pk, key in c.execute(
                text("SELECT case_pk, record_key FROM source_records WHERE NOT deleted")
            ):
                records.setdefault(case_pk, []).append(key)
            services: dict[int, list[tuple]] = {}
            for row in c.execute(
                text('SELECT case_pk, type, start, "end", status FROM case_services')
            ):
                services.setdefault(row[0], []).append(tuple(str(v) for v in row[1:]))
            cases = sorted(
                (
                    tuple(sorted(records.get(row.id, []))),
                    tuple(sorted(services.get(row.id, []))),
                    row.city,
                    row.sex,
                    row.birth_year,
                    row.citizenship,
                    row.country_of_birth,
                    row.years_in_italy,
                    row.permit_category,
                    str(row.opened_on),
                    str(row.closed_on),
                    row.status,
                    row.intake_channel,
                    str(row.vulnerabilities),
                )
                for row in c.execute(text("SELECT * FROM cases"))
            )
            seqs = [s for (s,) in c.execute(text("SELECT feed_seq FROM cases"))]
            last_seq = c.execute(text("SELECT last_seq FROM feed_state")).scalar_one()
            cursor = c.execute(text("SELECT cursor FROM cursors")).scalar_one()
            quarantined = sorted(
                tuple(row) for row in c.execute(text("SELECT stage, field, rule FROM quarantine"))
            )
    finally:
        engine.dispose()
    assert len(seqs) == len(set(seqs)) and max(seqs) <= last_seq
    return {"counts": counts, "cases": cases, "cursor": cursor, "quarantined": quarantined}


def test_a_sync_killed_at_random_points_ends_like_an_uninterrupted_one(
    database_url, other_database_url, tmp_path
) -> None:
    drop = write_csv(tmp_path / "export.csv", RECORDS, persons=RECORDS * 9 // 10, bad_every=1000)
    mappings = tmp_path / "mappings"
    write_definition(mappings, path=str(drop))
    for url in (database_url, other_database_url):
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()

    run_to_end(other_database_url, str(mappings))
    reference = snapshot(other_database_url)
    assert reference["counts"]["source_records"] == RECORDS - RECORDS // 1000
    persons = {n % (RECORDS * 9 // 10) for n in range(RECORDS) if n % 1000}
    assert reference["counts"]["cases"] == len(persons)
    seconds = ingest_seconds(other_database_url)

    rng = random.Random(RECORDS)
    killed_at = []
    for _ in range(KILLS):
        # After the first commit of a run, somewhere in what is left of it: mid-batch, between
        # batches, mid-commit — wherever it falls.
        killed_at.append(
            kill_while_ingesting(database_url, str(mappings), rng.uniform(0, 0.3) * seconds)
        )
    assert any(at is not None for at in killed_at), "every run finished before it was killed"
    run_to_end(database_url, str(mappings))
    crashed = snapshot(database_url)

    assert crashed["counts"] == reference["counts"], killed_at
    assert crashed["quarantined"] == reference["quarantined"]
    assert crashed["cursor"] == reference["cursor"]
    assert crashed["cases"] == reference["cases"]
