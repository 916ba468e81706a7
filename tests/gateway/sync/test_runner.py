"""Running one source: cursor resume, retries with backoff, circuit breaker, busy sources."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest
from pydantic import ConfigDict
from sqlalchemy import func, select

import adapters
from adapters.base import Adapter, AdapterOptions, RawRecord
from adapters.circuit import CircuitBreakers
from adapters.errors import FatalSourceError, RetriableSourceError
from adapters.retry import RetryOptions, RetryPolicy
from gateway.storage.tables import CaseRow, SourceRecordRow
from gateway.sync import runs, sources
from gateway.sync.locks import source_lock
from gateway.sync.runner import sync_source
from gateway.sync.watermarks import get_cursor
from tests.gateway.sync.synthetic import CSV_COLUMNS, csv_row, write_csv, write_definition


def count(engine, table) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def test_a_csv_source_syncs_then_resumes_after_its_cursor(
    engine, settings, mappings_root, tmp_path
):
    drop = write_csv(tmp_path / "drop.csv", 1200, bad_every=400)
    write_definition(mappings_root, path=str(drop))
    source = sources.find(settings, "roma", "welfare-csv")
    result = sync_source(engine, settings, source)
    assert result.ok, result.error
    report = result.report
    assert (report.read, report.accepted, report.rejected, report.quarantined) == (1200, 1197, 3, 3)
    assert report.batches == 3  # settings.sync_batch_size == 500
    assert count(engine, CaseRow) == 1197
    cursor = get_cursor(engine, "roma", "welfare-csv")
    assert cursor

    again = sync_source(engine, settings, source)
    assert again.ok and again.report.read == 0

    with open(drop, "a", encoding="utf-8") as handle:  # the export grows
        for n in range(1200, 1250):
            handle.write(";".join(csv_row(n)) + "\n")
    more = sync_source(engine, settings, source)
    assert (more.report.read, more.report.accepted) == (50, 50)
    assert count(engine, SourceRecordRow) == 1247
    [run] = runs.last_runs(engine, city="roma")
    assert run.status == "ok" and run.counts.read == 50 and run.finished_at is not None
    assert run.runner.endswith(f":{__import__('os').getpid()}")
    assert len(runs.runs_of(engine, "roma", "welfare-csv")) == 3


class _Options(AdapterOptions):
    model_config = ConfigDict(extra="ignore", frozen=True)


class FlakyAdapter(Adapter[_Options]):
    """Yields 10 CSV-like rows; raises what ``plan`` says before the given positions."""

    kind = "test-flaky"
    Options = _Options
    plan: ClassVar[dict[int, list[Exception]]] = {}
    calls = 0

    def fetch(self, cursor: str | None) -> Iterator[RawRecord]:
        type(self).calls += 1
        start = int(cursor) if cursor else 0
        for n in range(start, 10):
            failures = self.plan.get(n)
            if failures:
                raise failures.pop(0)
            yield RawRecord(data=dict(zip(CSV_COLUMNS, csv_row(n), strict=True)), cursor=str(n + 1))


@pytest.fixture
def flaky(settings, mappings_root):
    adapters.register(FlakyAdapter)
    file = write_definition(mappings_root, source="flaky")
    file.write_text(file.read_text().replace("kind: csv", "kind: test-flaky"))
    FlakyAdapter.calls = 0
    FlakyAdapter.plan = {}
    return sources.find(settings, "roma", "flaky")


def _policy(attempts: int = 4) -> RetryPolicy:
    return RetryPolicy(RetryOptions(attempts=attempts, initial_wait=0.01, jitter=0.0))


def test_transient_errors_are_retried_from_the_committed_cursor(engine, settings, flaky) -> None:
    settings = settings.model_copy(update={"sync_batch_size": 2})
    FlakyAdapter.plan = {
        5: [RetriableSourceError("timeout"), RetriableSourceError("HTTP 503", retry_after=0.5)],
        8: [RetriableSourceError("timeout")],
    }
    slept: list[float] = []
    result = sync_source(
        engine, settings, flaky, retry=_policy(), breakers=CircuitBreakers(), sleep=slept.append
    )
    assert result.ok, result.error
    assert count(engine, SourceRecordRow) == 10 and result.report.accepted == 10
    assert result.report.duplicate == 0  # resumed after the committed batches, not from 0
    assert FlakyAdapter.calls == 4
    assert slept[1] >= 0.5  # Retry-After honoured


def test_exhausted_retries_fail_the_run_and_open_the_circuit(engine, settings, flaky) -> None:
    FlakyAdapter.plan = {0: [RetriableSourceError("timeout") for _ in range(10)]}
    breakers = CircuitBreakers(failure_threshold=3, reset_timeout=60)
    result = sync_source(
        engine, settings, flaky, retry=_policy(3), breakers=breakers, sleep=lambda s: None
    )
    assert result.status == "failed" and "retries exhausted" in result.error
    calls = FlakyAdapter.calls
    second = sync_source(
        engine, settings, flaky, retry=_policy(3), breakers=breakers, sleep=lambda s: None
    )
    assert second.status == "circuit_open" and FlakyAdapter.calls == calls
    assert [r.status for r in runs.runs_of(engine, "roma", "flaky")] == ["circuit_open", "failed"]


def test_a_fatal_error_fails_at_once(engine, settings, flaky) -> None:
    FlakyAdapter.plan = {3: [FatalSourceError("HTTP 401", source="roma/flaky")]}
    result = sync_source(engine, settings, flaky, retry=_policy(), breakers=CircuitBreakers())
    assert result.status == "failed" and "FatalSourceError" in result.error
    assert FlakyAdapter.calls == 1
    [run] = runs.runs_of(engine, "roma", "flaky")
    assert run.error == result.error


def test_a_busy_source_is_skipped_without_a_run(engine, settings, flaky) -> None:
    with source_lock(engine, "roma", "flaky"):
        result = sync_source(engine, settings, flaky)
    assert result.status == "busy" and FlakyAdapter.calls == 0
    assert runs.runs_of(engine, "roma", "flaky") == []
