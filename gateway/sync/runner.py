"""Sync one source now: lock it, read from its stored cursor, ingest, log the run.

::

    result = sync_source(engine, settings, sources.find(settings, "roma", "welfare-csv"))

The source's lock (:mod:`gateway.sync.locks`) is held for the whole run, so two runners never
read one source at once; a busy source is skipped (``status == "busy"``), not waited for.
Transient source failures (:class:`~adapters.errors.RetriableSourceError`: timeouts, 429,
5xx) are retried with the source's backoff and jitter (:mod:`adapters.retry`), resuming from
the cursor committed with the last batch; progress resets the attempt count. A per-source
circuit breaker (:mod:`adapters.circuit`) stops calling a source that keeps failing, so a dead
system costs the others nothing. Fatal errors (bad credentials, a broken definition) end the
run as ``failed`` at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from adapters.circuit import CircuitBreakers, CircuitOpenError
from adapters.errors import RetriableSourceError, SourceError
from adapters.retry import RetryPolicy
from gateway.settings import Settings
from gateway.sync import runs
from gateway.sync.locks import SourceBusy, source_lock
from gateway.sync.pipeline import IngestReport, ingest
from gateway.sync.sources import Source
from gateway.sync.watermarks import get_cursor
from mappings.errors import MappingError

log = logging.getLogger(__name__)

#: One breaker per source for the whole process (the scheduler and ``lgnet sync`` share it).
BREAKERS = CircuitBreakers(failure_threshold=3, reset_timeout=300.0)

Progress = Callable[[Source, IngestReport], None]


@dataclass(slots=True)
class RunResult:
    """How one run of one source went. ``error`` names the error's class and says what to do,
    never a record's value."""

    city: str
    source: str
    status: str  # ok | failed | busy | circuit_open
    report: IngestReport = field(default_factory=IngestReport)
    error: str | None = None
    run_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def sync_source(
    engine: Engine,
    settings: Settings,
    source: Source,
    *,
    progress: Progress | None = None,
    retry: RetryPolicy | None = None,
    breakers: CircuitBreakers | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RunResult:
    """Run ``source``'s sync to the end of what it has now (see module docstring)."""
    result = RunResult(source.city, source.name, "busy")
    try:
        with source_lock(engine, source.city, source.name):
            result.run_id = runs.start(engine, source.city, source.name)
            try:
                _run(engine, settings, source, result, progress, retry, breakers, sleep)
            finally:
                report = result.report
                counts = runs.Counts(
                    report.read,
                    report.accepted,
                    report.duplicate,
                    report.rejected,
                    report.quarantined,
                )
                runs.finish(engine, result.run_id, result.status, counts, error=result.error)
                log.info(
                    "sync run finished",
                    extra={
                        "city": source.city,
                        "source": source.name,
                        "status": result.status,
                        "read": report.read,
                        "accepted": report.accepted,
                        "rejected": report.rejected,
                    },
                )
    except SourceBusy:
        log.info("source busy, skipped", extra={"city": source.city, "source": source.name})
    return result


def _run(
    engine: Engine,
    settings: Settings,
    source: Source,
    result: RunResult,
    progress: Progress | None,
    retry: RetryPolicy | None,
    breakers: CircuitBreakers | None,
    sleep: Callable[[float], None],
) -> None:
    breaker = (breakers or BREAKERS).get(source.key)
    policy = retry or RetryPolicy()
    attempt = 0
    result.status = "failed"  # until proven otherwise, also if an unexpected error escapes
    while True:
        done_before = result.report.read
        try:
            breaker.before_call()
            _pull(engine, settings, source, result, progress)
        except CircuitOpenError as exc:
            result.status, result.error = "circuit_open", str(exc)
            return
        except RetriableSourceError as exc:
            breaker.record_failure()
            attempt = 1 if result.report.read > done_before else attempt + 1
            wait = policy.backoff(attempt)
            if exc.retry_after is not None:
                wait = max(wait, exc.retry_after)
            if attempt >= policy.options.attempts or wait > policy.options.max_retry_after:
                result.error = f"{type(exc).__name__}: {exc} (retries exhausted)"
                return
            log.info(
                "transient source error, retrying",
                extra={"city": source.city, "source": source.name, "attempt": attempt},
            )
            sleep(wait)
            continue
        except (SourceError, MappingError) as exc:
            result.error = f"{type(exc).__name__}: {exc}"
            return
        breaker.record_success()
        result.status = "ok"
        return


def _pull(
    engine: Engine,
    settings: Settings,
    source: Source,
    result: RunResult,
    progress: Progress | None,
) -> None:
    """One pass from the stored cursor to the end; ``result.report`` accumulates the counts."""
    before = IngestReport()
    before.add(result.report)

    def on_progress(report: IngestReport) -> None:
        result.report = IngestReport()
        result.report.add(before)
        result.report.add(report)
        if progress is not None:
            progress(source, result.report)

    cursor = get_cursor(engine, source.city, source.name)
    with source.adapter() as adapter:
        ingest(
            engine,
            city=source.city,
            source=source.name,
            records=adapter.fetch(cursor),
            mapper=source.mapper,
            settings=settings,
            system=source.system,
            track_cursor=True,
            batch_size=settings.sync_batch_size,
            keep_results=False,
            progress=on_progress,
        )


def sync_all(
    engine: Engine,
    settings: Settings,
    sources: list[Source],
    *,
    progress: Progress | None = None,
) -> list[RunResult]:
    """Sync each source in turn; one failing source does not stop the others."""
    return [sync_source(engine, settings, source, progress=progress) for source in sources]
