"""Quarantine replay: run quarantined records through the pipeline again, after a fix.

Each waiting record is decrypted and ingested with its source's *current* mapping (records that
arrived as intake JSON are validated again as they are). In the same transaction as the data:

- a record that now passes (accepted, or a duplicate of what is stored) is marked replayed and
  its encrypted payload dropped;
- a record that fails again stays in quarantine with its new reason (never a second copy).

A payload that no longer decrypts (the quarantine key changed) is counted as unreadable and left
for the retention purge.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select, update

from adapters.base import RawRecord
from gateway.settings import Settings
from gateway.sync import sources
from gateway.sync.pipeline import RecordResult, ingest, keys_of
from gateway.sync.quarantine import Payload, PayloadUnreadable, quarantine
from mappings.compiler import Mapper

CHUNK = 500


@dataclass(slots=True)
class ReplayReport:
    """Counts of one replay."""

    selected: int = 0
    replayed: int = 0  # accepted or duplicate now
    rejected: int = 0  # still failing: kept in quarantine with the new reason
    unreadable: int = 0  # payload does not decrypt under the current key
    no_definition: int = 0  # raw records of a source whose definition is gone


def replay(
    engine: Engine,
    settings: Settings,
    *,
    city: str | None = None,
    source: str | None = None,
    progress: Callable[[ReplayReport], None] | None = None,
) -> ReplayReport:
    """Replay waiting records (of ``city`` / ``source``); return the counts."""
    cipher = keys_of(settings).cipher
    q = quarantine.c
    query = select(q.id, q.city, q.source, q.payload, q.key_id).where(
        q.replayed_at.is_(None), q.payload.is_not(None)
    )
    if city:
        query = query.where(q.city == city)
    if source:
        query = query.where(q.source == source)
    with engine.connect() as connection:
        pending = connection.execute(query.order_by(q.city, q.source, q.id)).all()
    report = ReplayReport(selected=len(pending))
    mappers: dict[tuple[str, str], Mapper | None] = {}
    groups: dict[tuple[str, str, str], list[tuple[int, Payload]]] = {}
    for row in pending:
        try:
            clear = cipher.open(row.payload, city=row.city, source=row.source)
        except PayloadUnreadable:
            report.unreadable += 1
            continue
        payload = Payload.from_bytes(clear)
        groups.setdefault((row.city, row.source, payload.kind), []).append((row.id, payload))
    for (group_city, group_source, kind), items in groups.items():
        mapper: Mapper | None = None
        if kind == "raw":
            key = (group_city, group_source)
            if key not in mappers:
                mappers[key] = _mapper(settings, group_city, group_source)
            mapper = mappers[key]
            if mapper is None:
                report.no_definition += len(items)
                continue
        for start in range(0, len(items), CHUNK):
            _replay_chunk(
                engine,
                settings,
                group_city,
                group_source,
                mapper,
                items[start : start + CHUNK],
                report,
            )
            if progress is not None:
                progress(report)
    return report


def _mapper(settings: Settings, city: str, source: str) -> Mapper | None:
    try:
        return sources.find(settings, city, source).mapper
    except sources.UnknownSource:
        return None


def _replay_chunk(
    engine: Engine,
    settings: Settings,
    city: str,
    source: str,
    mapper: Mapper | None,
    items: list[tuple[int, Payload]],
    report: ReplayReport,
) -> None:
    records: list[RawRecord | Mapping[str, Any]] = []
    for _, payload in items:
        if payload.kind == "raw":
            records.append(
                RawRecord(
                    data=payload.data,
                    cursor="",
                    record_id=payload.record_id,
                    position=payload.position,
                    deleted=payload.deleted,
                )
            )
        else:
            records.append(payload.data)
    ids = [quarantine_id for quarantine_id, _ in items]

    def settle(connection: Connection, results: list[RecordResult]) -> None:
        now = datetime.now(UTC)
        done = [{"b_id": ids[r.index]} for r in results if r.outcome != "rejected"]
        again = [
            {
                "b_id": ids[r.index],
                "field": (r.field or "")[:200] or None,
                "rule": (r.rule or "")[:80] or None,
                "reason": (r.reason or "rejected")[:400],
            }
            for r in results
            if r.outcome == "rejected"
        ]
        if done:
            connection.execute(
                update(quarantine)
                .where(quarantine.c.id == bindparam("b_id"))
                .values(replayed_at=now, payload=None),
                done,
            )
        if again:
            connection.execute(
                update(quarantine).where(quarantine.c.id == bindparam("b_id")), again
            )
        report.replayed += len(done)
        report.rejected += len(again)

    ingest(
        engine,
        city=city,
        source=source,
        records=records,
        mapper=mapper,
        settings=settings,
        batch_size=len(records),
        on_batch=settle,
    )
