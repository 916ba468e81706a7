"""Scheduled pulls: due sources run on their interval, read from the shared run log."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from gateway.sync import runs, scheduler, sources
from tests.gateway.sync.synthetic import write_csv, write_definition


def wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_source_is_due_when_its_last_run_started_an_interval_ago(
    engine, settings, mappings_root, tmp_path
):
    write_definition(mappings_root, path=str(write_csv(tmp_path / "a.csv", 5)), every="10m")
    source = sources.find(settings, "roma", "welfare-csv")
    plan = scheduler.Scheduler(engine, settings, [source])
    try:
        now = datetime.now(UTC)
        assert plan.due(source, now)  # never ran
        run_id = runs.start(engine, "roma", "welfare-csv", now=now - timedelta(minutes=3))
        runs.finish(engine, run_id, "ok", runs.Counts())
        assert not plan.due(source, now)
        assert plan.due(source, now + timedelta(minutes=8))
    finally:
        plan.stop()


def test_unscheduled_sources_are_left_to_lgnet_sync(engine, settings, mappings_root, tmp_path):
    write_definition(mappings_root, path=str(write_csv(tmp_path / "a.csv", 5)))
    file = write_definition(mappings_root, source="manual", path="x")
    file.write_text(file.read_text().replace("schedule: {every: 1h}\n", ""))
    plan = scheduler.Scheduler(engine, settings)
    try:
        assert [s.name for s in plan.sources] == ["welfare-csv"]
    finally:
        plan.stop()


def test_the_scheduler_runs_sources_on_their_interval(engine, settings, mappings_root, tmp_path):
    drop = write_csv(tmp_path / "a.csv", 40)
    write_definition(mappings_root, path=str(drop), every="1s")
    started = scheduler.start(SimpleNamespace(engine=engine, settings=settings), tick=0.05)
    try:
        assert scheduler.start() is started  # one per process
        wait_for(lambda: len(runs.runs_of(engine, "roma", "welfare-csv")) >= 2)
    finally:
        scheduler.stop()
    history = runs.runs_of(engine, "roma", "welfare-csv")
    assert all(run.status == "ok" for run in history)
    assert sum(run.counts.accepted for run in history) == 40
    ordered = sorted(history, key=lambda run: run.started_at)
    gaps = [b.started_at - a.started_at for a, b in itertools.pairwise(ordered)]
    assert all(gap >= timedelta(seconds=1) for gap in gaps)


def test_the_scheduler_purges_old_quarantined_records(engine, settings) -> None:
    from sqlalchemy import update

    from gateway.sync.pipeline import ingest
    from gateway.sync.quarantine import quarantine, summary

    ingest(engine, city="roma", source="api", records=[{"bad": 1}], mapper=None, settings=settings)
    old = datetime.now(UTC) - timedelta(days=settings.quarantine_retention_days + 1)
    with engine.begin() as connection:
        connection.execute(update(quarantine).values(created_at=old))
    plan = scheduler.Scheduler(engine, settings, [])
    try:
        plan.run_pending()
    finally:
        plan.stop()
    assert summary(engine) == []
