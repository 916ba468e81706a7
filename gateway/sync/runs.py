"""The sync run log (``sync_runs``): one row per run, written while the source's lock is held.

A run's row is inserted right after its lock is taken and finished right before the lock is
released, so two runs of one source never have overlapping ``[started_at, finished_at]``
intervals — which is how operators (and the replica test) can check it. A runner killed
mid-run leaves its row ``running``; :func:`last_runs` shows it for what it is.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Engine, Table, func, insert, select, update

from gateway.storage.sync import SyncRunRow

sync_runs = cast(Table, SyncRunRow.__table__)


def runner_id() -> str:
    """``hostname:pid`` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


@dataclass(frozen=True, slots=True)
class Counts:
    read: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    quarantined: int = 0


def start(engine: Engine, city: str, source: str, *, now: datetime | None = None) -> int:
    """Log the start of a run; return its id."""
    with engine.begin() as connection:
        result = connection.execute(
            insert(sync_runs).returning(sync_runs.c.id),
            {
                "city": city,
                "source": source,
                "runner": runner_id(),
                "started_at": now or datetime.now(UTC),
                "status": "running",
                "read": 0,
                "accepted": 0,
                "duplicate": 0,
                "rejected": 0,
                "quarantined": 0,
            },
        )
        return int(result.scalar_one())


def finish(
    engine: Engine,
    run_id: int,
    status: str,
    counts: Counts,
    *,
    error: str | None = None,
    now: datetime | None = None,
) -> None:
    """Log the end of a run (``ok``, ``failed``, ``circuit_open``) with its counts."""
    with engine.begin() as connection:
        connection.execute(
            update(sync_runs)
            .where(sync_runs.c.id == run_id)
            .values(
                finished_at=now or datetime.now(UTC),
                status=status,
                read=counts.read,
                accepted=counts.accepted,
                duplicate=counts.duplicate,
                rejected=counts.rejected,
                quarantined=counts.quarantined,
                error=error[:400] if error else None,
            )
        )


@dataclass(frozen=True, slots=True)
class Run:
    id: int
    city: str
    source: str
    runner: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    counts: Counts
    error: str | None


def last_runs(engine: Engine, *, city: str | None = None) -> list[Run]:
    """The latest run of every source (of ``city``)."""
    r = sync_runs.c
    latest = select(func.max(r.id)).group_by(r.city, r.source)
    if city:
        latest = latest.where(r.city == city)
    query = select(sync_runs).where(r.id.in_(latest)).order_by(r.city, r.source)
    with engine.connect() as connection:
        return [_run(row) for row in connection.execute(query).mappings()]


def runs_of(engine: Engine, city: str, source: str, *, limit: int = 100) -> list[Run]:
    """The latest runs of one source, newest first."""
    r = sync_runs.c
    query = (
        select(sync_runs)
        .where(r.city == city, r.source == source)
        .order_by(r.id.desc())
        .limit(limit)
    )
    with engine.connect() as connection:
        return [_run(row) for row in connection.execute(query).mappings()]


def last_started(engine: Engine, city: str, source: str) -> datetime | None:
    """When the latest finished run of a source started (any runner), if any."""
    r = sync_runs.c
    query = select(func.max(r.started_at)).where(
        r.city == city, r.source == source, r.finished_at.is_not(None)
    )
    with engine.connect() as connection:
        value = connection.execute(query).scalar_one_or_none()
    if value is not None and value.tzinfo is None:  # SQLite keeps no time zone
        value = value.replace(tzinfo=UTC)
    return cast(datetime | None, value)


def _run(row: object) -> Run:
    m = cast(dict[str, object], row)
    return Run(
        id=cast(int, m["id"]),
        city=cast(str, m["city"]),
        source=cast(str, m["source"]),
        runner=cast(str, m["runner"]),
        started_at=cast(datetime, m["started_at"]),
        finished_at=cast(datetime | None, m["finished_at"]),
        status=cast(str, m["status"]),
        counts=Counts(
            cast(int, m["read"]),
            cast(int, m["accepted"]),
            cast(int, m["duplicate"]),
            cast(int, m["rejected"]),
            cast(int, m["quarantined"]),
        ),
        error=cast(str | None, m["error"]),
    )
