"""The audit trail: who read or wrote case data, what, when and how much — never the data.

Each entry is appended in the same transaction as the read or write it describes, so an entry
exists exactly when the access happened. Entries form a hash chain: an entry's ``hash`` is the
SHA-256 of its own fields and the previous entry's hash, and the ``audit_head`` row holds the
last sequence number and hash. :func:`verify` recomputes the chain and so finds any entry that
was edited, deleted, reordered or cut off the end.

Appending locks ``audit_head`` (an ``UPDATE``), which orders appends across processes. On
SQLite, call :func:`reserve` as the transaction's first statement when the transaction reads
before it appends, so that it becomes the writer before it takes its snapshot.

Usage (any module that reads or writes case data)::

    with audit.transaction(engine) as connection:
        ... read or write ...
        audit.append(connection, actor="roma-welfare-1a2b", action="POST /v1/cities/{city}/records",
                     city="roma", count=500, detail={"accepted": "498", "rejected": "2"})
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
from sqlalchemy import Connection, Engine, insert, select, update

from gateway.storage.auth import AuditHeadRow
from gateway.storage.tables import AuditEntryRow

GENESIS = "0" * 64
_HEAD = AuditHeadRow.id == 1
_MAX_PROBLEMS = 100


def _utc(at: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def entry_hash(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    city: str | None,
    count: int,
    detail: Mapping[str, str],
    prev_hash: str,
) -> str:
    """SHA-256 over the canonical JSON of an entry's fields and the previous hash."""
    canonical = orjson.dumps(
        [seq, _utc(at).isoformat(), actor, action, city, count, dict(detail), prev_hash],
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(canonical).hexdigest()


def reserve(connection: Connection) -> None:
    """Lock the audit head now, for the rest of the transaction."""
    connection.execute(update(AuditHeadRow).where(_HEAD).values(last_seq=AuditHeadRow.last_seq))


_sqlite_writers: dict[str, threading.Lock] = {}
_sqlite_writers_guard = threading.Lock()


def _sqlite_writer(engine: Engine) -> threading.Lock:
    key = str(engine.url)
    with _sqlite_writers_guard:
        return _sqlite_writers.setdefault(key, threading.Lock())


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will append an audit entry (committed on success).

    SQLite has one writer at a time: the threads of this process queue on a lock instead of
    polling SQLite's busy handler (which is unfair and makes tail latency explode), and the
    transaction becomes the writer with its first statement (:func:`reserve`).
    """
    sqlite = engine.dialect.name == "sqlite"
    with _sqlite_writer(engine) if sqlite else nullcontext(), engine.begin() as connection:
        if sqlite:
            reserve(connection)
        yield connection


def append(
    connection: Connection,
    *,
    actor: str,
    action: str,
    city: str | None = None,
    count: int = 0,
    detail: Mapping[str, str | int] | None = None,
) -> int:
    """Append an entry in the caller's transaction; return its sequence number.

    ``action`` is a route template or a command name, ``detail`` holds counts and outcome
    names: never a value of a record.
    """
    # Lock the head and take the next number in one statement.
    seq, last_hash = connection.execute(
        update(AuditHeadRow)
        .where(_HEAD)
        .values(last_seq=AuditHeadRow.last_seq + 1)
        .returning(AuditHeadRow.last_seq, AuditHeadRow.last_hash)
    ).one()
    at = datetime.now(UTC)
    clean_detail = {str(k): str(v) for k, v in (detail or {}).items()}
    actor, action = actor[:120], action[:120]
    digest = entry_hash(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        city=city,
        count=count,
        detail=clean_detail,
        prev_hash=last_hash,
    )
    entry = {
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": action,
        "city": city,
        "count": count,
        "detail": clean_detail,
        "prev_hash": last_hash,
        "hash": digest,
    }
    connection.execute(insert(AuditEntryRow), [entry])
    connection.execute(update(AuditHeadRow).where(_HEAD).values(last_hash=digest))
    return int(seq)


@dataclass
class VerifyReport:
    """What :func:`verify` found: ``ok`` when the chain is intact."""

    entries: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(connection: Connection) -> VerifyReport:
    """Walk the chain in sequence order and report every inconsistency."""
    report = VerifyReport()
    expected_seq, prev_hash = 1, GENESIS

    def problem(seq: int, text: str) -> None:
        if len(report.problems) < _MAX_PROBLEMS:
            report.problems.append((seq, text))

    rows = connection.execute(
        select(
            AuditEntryRow.seq,
            AuditEntryRow.at,
            AuditEntryRow.actor,
            AuditEntryRow.action,
            AuditEntryRow.city,
            AuditEntryRow.count,
            AuditEntryRow.detail,
            AuditEntryRow.prev_hash,
            AuditEntryRow.hash,
        )
        .order_by(AuditEntryRow.seq)
        .execution_options(yield_per=2000)
    )
    for row in rows:
        report.entries += 1
        if row.seq != expected_seq:
            problem(row.seq, f"entries {expected_seq}..{row.seq - 1} are missing (deleted)")
        if row.prev_hash != prev_hash:
            problem(row.seq, "the chain is broken before this entry (deleted or reordered)")
        recomputed = entry_hash(
            seq=row.seq,
            at=row.at,
            actor=row.actor,
            action=row.action,
            city=row.city,
            count=row._mapping["count"],  # .count is the tuple method
            detail=row.detail,
            prev_hash=row.prev_hash,
        )
        if recomputed != row.hash:
            problem(row.seq, "the entry was edited (its hash does not match its fields)")
        expected_seq, prev_hash = row.seq + 1, row.hash
    head = connection.execute(
        select(AuditHeadRow.last_seq, AuditHeadRow.last_hash).where(_HEAD)
    ).first()
    if head is None:
        problem(0, "the audit head row is missing")
    elif (head.last_seq, head.last_hash) != (expected_seq - 1, prev_hash):
        problem(head.last_seq, "entries at the end of the log are missing (deleted)")
    return report
