"""The ingest pipeline (BRIEF §3): map → validate → pseudonymise → link → store, in batches.

One entry point serves every way records arrive — scheduled pulls (:mod:`gateway.sync.runner`),
pushes of intake JSON, FHIR Bundles and CSV files (the HTTP API), ``lgnet ingest`` and
quarantine replay::

    report = ingest(engine, city="roma", source="welfare-csv", records=adapter.fetch(cursor),
                    mapper=definition.mapper, settings=settings, track_cursor=True)

Records are cut into batches. Each batch is mapped and validated in memory first (no lock is
held meanwhile; the stored content hashes of its records are read, so that unchanged ones are
not encoded for linkage), then written in ONE transaction: source records, persons and pseudonyms,
cases with their change-feed positions, quarantined records, and — with ``track_cursor`` —
the cursor of the batch's last record. A crash loses at most the batch in flight, which is
read again from the stored cursor; upserts keyed on the record and its content hash make
the second reading a no-op (:mod:`gateway.sync.upserts`).

A record that cannot be read, mapped or validated is *rejected*: the report names its field
path and rule (never a value), and its raw payload goes to quarantine, encrypted, for replay
after a fix (:mod:`gateway.sync.quarantine`).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any, Literal

from sqlalchemy import Connection, Engine, insert, select

from adapters.base import RawRecord
from gateway.settings import Settings
from gateway.sync import upserts
from gateway.sync.prepare import Batch, Keys, keys_of
from gateway.sync.quarantine import already_quarantined, quarantine, quarantine_row
from gateway.sync.watermarks import put_cursor
from mappings.compiler import Mapper

__all__ = ["BatchHook", "IngestReport", "Outcome", "RecordResult", "ingest", "keys_of"]

Outcome = Literal["accepted", "duplicate", "rejected"]
DEFAULT_BATCH = 2000
# Below this many records a batch encodes them all: reading their stored content hashes first
# (to skip the unchanged ones) costs a round trip more than it saves.
PREREAD_MIN = 50


@dataclass(frozen=True, slots=True)
class RecordResult:
    """What happened to one record: ``index`` is its position in the input (from 0)."""

    index: int
    outcome: Outcome
    field: str | None = None
    rule: str | None = None
    reason: str | None = None
    position: str | None = None


@dataclass(slots=True)
class IngestReport:
    """Per-record results (unless ``keep_results=False``) and counts of one ingest."""

    results: list[RecordResult] = field(default_factory=list)
    read: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    quarantined: int = 0
    cases_changed: int = 0
    batches: int = 0
    cursor: str | None = None

    def add(self, other: IngestReport) -> None:
        self.results.extend(other.results)
        self.read += other.read
        self.accepted += other.accepted
        self.duplicate += other.duplicate
        self.rejected += other.rejected
        self.quarantined += other.quarantined
        self.cases_changed += other.cases_changed
        self.batches += other.batches
        self.cursor = other.cursor or self.cursor


Progress = Callable[[IngestReport], None]
BatchHook = Callable[[Connection, list[RecordResult]], None]


def ingest(
    bind: Engine | Connection,
    *,
    city: str,
    source: str,
    records: Iterable[RawRecord | Mapping[str, Any]],
    mapper: Mapper | None,
    settings: Settings,
    system: str | None = None,
    track_cursor: bool = False,
    batch_size: int = DEFAULT_BATCH,
    keep_results: bool = True,
    progress: Progress | None = None,
    on_batch: BatchHook | None = None,
) -> IngestReport:
    """Ingest ``records`` of one source of ``city``; return per-record results and counts.

    ``mapper`` turns an adapter's raw ``data`` into an intake-record dict (``None``: records
    already are intake dicts, as pushed in JSON). ``system`` fills ``source.system`` when the
    mapping does not. With ``track_cursor`` the cursor of each batch's last record is stored
    with the batch. Given an Engine, each batch commits on its own; given a Connection
    already in a transaction, everything joins that transaction (the caller commits).
    ``keep_results=False`` keeps counts only (long syncs: constant memory). ``on_batch`` is
    called inside each batch's transaction with its results (quarantine replay uses it to
    settle its rows atomically with the data).
    """
    keys = keys_of(settings)
    report = IngestReport()
    iterator: Iterator[RawRecord | Mapping[str, Any]] = iter(records)
    index = 0
    known_city = _holds_records(bind, city)  # else no record can be a duplicate of a stored one
    while True:
        with gc_paused():  # reading the batch too: its rows would be traversed as they come
            chunk = list(islice(iterator, batch_size))
            if not chunk:
                break
            batch = Batch(city=city, source=source, system=system, mapper=mapper, keys=keys)
            for offset, item in enumerate(chunk):
                batch.add(index + offset, item)
            del chunk[:]  # the raw records are not needed any more
            worth_reading = known_city and len(batch.valid) >= PREREAD_MIN
            batch.encode(_stored_hashes(bind, batch) if worth_reading else {})
            part = _commit(bind, batch, keys, track_cursor, on_batch)
            part.read = len(batch.valid) + len(batch.rejected)
            del batch
        index += part.read
        if not keep_results:
            part.results = []
        report.add(part)
        if progress is not None:
            progress(report)
    return report


def _holds_records(bind: Engine | Connection, city: str) -> bool:
    query = select(upserts.source_records.c.id).where(upserts.source_records.c.city == city)
    if isinstance(bind, Engine):
        with bind.connect() as connection:
            return connection.execute(query.limit(1)).first() is not None
    return bind.execute(query.limit(1)).first() is not None


def _stored_hashes(bind: Engine | Connection, batch: Batch) -> dict[tuple[str, str], str]:
    """Content hashes the gateway holds for the batch's records, read outside its transaction
    (records that did not change are not encoded for linkage: see :meth:`Batch.encode`)."""
    if isinstance(bind, Engine):
        with bind.connect() as connection:
            return upserts.stored_hashes(connection, batch.city, batch.valid)
    return upserts.stored_hashes(bind, batch.city, batch.valid)


_gc_lock = threading.Lock()
_gc_depth = 0
_gc_was_enabled = True


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch is built and written.

    A batch keeps tens of thousands of small objects alive at once; each of the collector's
    passes would walk them all, which costs more than the whole pipeline otherwise (measured:
    3-4x). Reference counting still frees everything as usual; cycles wait for the end of the
    batch. Nested and concurrent pauses (threads) are counted: the last one resumes.
    """
    global _gc_depth, _gc_was_enabled
    with _gc_lock:
        if _gc_depth == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_depth += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_depth -= 1
            if _gc_depth == 0 and _gc_was_enabled:
                gc.enable()


def _commit(
    bind: Engine | Connection,
    batch: Batch,
    keys: Keys,
    track_cursor: bool,
    on_batch: BatchHook | None,
) -> IngestReport:
    if isinstance(bind, Engine):
        with bind.begin() as connection:
            return _write(connection, batch, keys, track_cursor, on_batch)
    if bind.in_transaction():
        return _write(bind, batch, keys, track_cursor, on_batch)
    with bind.begin():
        return _write(bind, batch, keys, track_cursor, on_batch)


def _write(
    conn: Connection,
    batch: Batch,
    keys: Keys,
    track_cursor: bool,
    on_batch: BatchHook | None,
) -> IngestReport:
    now = datetime.now(UTC)
    pseudonymiser = keys.pseudonymiser
    version = upserts.lock_batch(conn, pseudonymiser)
    outcomes, ops = upserts.classify(conn, batch.city, batch.valid)
    for op in ops:
        batch.finish(op.item)  # a record taken for a duplicate before the transaction, not one
    report = IngestReport(batches=1, cursor=batch.cursor)
    report.cases_changed = upserts.apply(
        conn, pseudonymiser, city=batch.city, ops=ops, now=now, version=version
    )
    results: list[RecordResult] = [
        RecordResult(item.index, outcome)  # type: ignore[arg-type]
        for item, outcome in zip(batch.valid, outcomes, strict=True)
    ]
    report.accepted = outcomes.count("accepted")
    report.duplicate = len(outcomes) - report.accepted
    if batch.rejected:
        report.quarantined = _quarantine(conn, batch, keys, now)
        report.rejected = len(batch.rejected)
        for item in batch.rejected:
            r = item.rejection
            results.append(
                RecordResult(
                    item.index, "rejected", r.field, r.rule, r.reason, item.payload.position
                )
            )
        results.sort(key=lambda result: result.index)
    report.results = results
    if on_batch is not None:
        on_batch(conn, results)
    if track_cursor and batch.cursor is not None:
        put_cursor(conn, batch.city, batch.source, batch.cursor, now=now)
    return report


def _quarantine(conn: Connection, batch: Batch, keys: Keys, now: datetime) -> int:
    """Quarantine the batch's rejected records; one waiting copy per payload."""
    rows = [
        quarantine_row(
            keys.cipher,
            city=batch.city,
            source=batch.source,
            payload=item.payload,
            rejection=item.rejection,
            record_key=None,
            now=now,
        )
        for item in batch.rejected
    ]
    waiting = already_quarantined(conn, [row["payload_hash"] for row in rows])
    fresh: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["payload_hash"] not in waiting:
            fresh.setdefault(row["payload_hash"], row)
    if fresh:
        conn.execute(insert(quarantine), list(fresh.values()))
    return len(fresh)
