"""Scheduled pulls inside ``lgnet serve``: each source every ``schedule.every``.

A plain thread wakes up every ``tick`` seconds and hands each *due* source to a small pool of
workers. A source is due when its last finished run — by any replica, read from ``sync_runs`` —
started more than its interval ago. Replicas need no coordination beyond that: they all try,
the source's lock lets one run, the others skip it as busy (:mod:`gateway.sync.locks`).
Once an hour the scheduler also purges quarantined records older than
``LGNET_QUARANTINE_RETENTION_DAYS``.

``lgnet serve`` starts it from the application lifespan when ``LGNET_SCHEDULER=on``::

    scheduler.start(engine, settings)
    ...
    scheduler.stop()
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from gateway.settings import Settings, get_settings
from gateway.storage import make_engine
from gateway.sync import quarantine, runs, sources
from gateway.sync.runner import RunResult, sync_source
from gateway.sync.sources import Source

log = logging.getLogger(__name__)
PURGE_EVERY = timedelta(hours=1)


class Scheduler:
    """Runs due sources on a worker pool until :meth:`stop`."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        source_list: list[Source] | None = None,
        *,
        tick: float = 1.0,
        workers: int | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.sources = [
            s
            for s in (source_list if source_list is not None else sources.discover(settings))
            if s.interval is not None
        ]
        self.tick = tick
        self._pool = ThreadPoolExecutor(
            max_workers=workers or settings.sync_workers, thread_name_prefix="lgnet-sync"
        )
        self._running: dict[str, Future[RunResult]] = {}
        self._retry_at: dict[str, datetime] = {}
        self._purged_at: datetime | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"Scheduler(sources={len(self.sources)}, tick={self.tick})"

    def start(self) -> None:
        """Start the scheduling thread (a daemon: it never keeps the process alive)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="lgnet-scheduler", daemon=True)
        self._thread.start()
        log.info("scheduler started", extra={"sources": len(self.sources)})

    def stop(self, timeout: float = 30.0) -> None:
        """Stop scheduling and wait for runs in progress (they end at a batch boundary)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)
        log.info("scheduler stopped")

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_pending()
            except Exception:  # the loop must survive a database hiccup
                log.exception("scheduler tick failed")
            self._stop.wait(self.tick)

    def due(self, source: Source, now: datetime) -> bool:
        """Whether ``source`` should run at ``now`` (see module docstring)."""
        assert source.interval is not None
        retry_at = self._retry_at.get(source.key)
        if retry_at is not None and now < retry_at:
            return False
        last = runs.last_started(self.engine, source.city, source.name)
        return last is None or now >= last + source.interval

    def run_pending(self) -> list[Future[RunResult]]:
        """Submit every due source that is not running here already; return the futures.

        Once an hour it also purges quarantined records past their retention period.
        """
        now = datetime.now(UTC)
        if self._purged_at is None or now - self._purged_at >= PURGE_EVERY:
            self._purged_at = now
            removed = quarantine.purge(self.engine, self.settings, now=now)
            if removed:
                log.info("quarantine purged", extra={"records": removed})
        submitted: list[Future[RunResult]] = []
        for source in self.sources:
            if self._stop.is_set():
                break
            future = self._running.get(source.key)
            if future is not None and not future.done():
                continue
            if not self.due(source, now):
                continue
            future = self._pool.submit(self._run, source)
            self._running[source.key] = future
            submitted.append(future)
        return submitted

    def _run(self, source: Source) -> RunResult:
        try:
            result = sync_source(self.engine, self.settings, source)
        except Exception:
            log.exception("sync failed", extra={"city": source.city, "source": source.name})
            result = RunResult(source.city, source.name, "failed", error="unexpected error")
        assert source.interval is not None
        # A busy source is being run by another replica: look again soon, not at once.
        pause = min(source.interval, timedelta(seconds=5)) if result.status == "busy" else None
        if pause is not None:
            self._retry_at[source.key] = datetime.now(UTC) + pause
        else:
            self._retry_at.pop(source.key, None)
        return result


_current: Scheduler | None = None
_lock = threading.Lock()


def start(
    engine: Engine | Any = None,
    settings: Settings | None = None,
    *,
    source_list: list[Source] | None = None,
    tick: float = 1.0,
) -> Scheduler:
    """Start the process's scheduler (once); return it.

    ``engine`` may also be the API's application state (anything with ``engine`` and
    ``settings`` attributes), which is what the ``lgnet serve`` lifespan passes.
    """
    global _current
    if engine is not None and not isinstance(engine, Engine):
        settings = settings or engine.settings
        engine = engine.engine
    with _lock:
        if _current is None:
            settings = settings or get_settings()
            engine = engine or make_engine(settings.database_url)
            _current = Scheduler(engine, settings, source_list, tick=tick)
            _current.start()
        return _current


def stop(timeout: float = 30.0) -> None:
    """Stop the process's scheduler, if started."""
    global _current
    with _lock:
        scheduler, _current = _current, None
    if scheduler is not None:
        scheduler.stop(timeout)
