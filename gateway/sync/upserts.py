"""Idempotent upserts of one batch, in one transaction: source records, persons, cases, feed.

Keyed on ``(city, source, record_key)`` — a keyed hash of the source's record id — and the
content hash of the mapped record:

- an unknown record is inserted and linked to its person's case (created when new);
- the same record with the same content hash is a *duplicate*: nothing is written;
- a changed record replaces its contribution (and its services and referrals), and moves to
  another case if it now belongs to another person;
- a tombstone removes the record's contribution; its case is recomputed, and kept with
  empty content when nothing else contributes to it.

Every case touched gets a new change-feed position. The transaction first takes the identity
store's shared lock on the national key version (the lock order of a key rotation), then the
``feed_state`` row: writers of all sources are serialised from there on, so what this batch
reads of ``source_records`` and ``cases`` cannot change before it commits.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, delete, select, text, update

from gateway.privacy import store
from gateway.privacy.keys import NATIONAL
from gateway.privacy.pseudonyms import Pseudonymiser
from gateway.storage.tables import CaseReferralRow, CaseRow, CaseServiceRow, SourceRecordRow
from gateway.sync import cases as assembly
from gateway.sync import identity
from gateway.sync.bulk import insert_rows, rows_by_key, values_for
from gateway.sync.ids import allocate_ids

cases = cast(Table, CaseRow.__table__)
source_records = cast(Table, SourceRecordRow.__table__)
case_services = cast(Table, CaseServiceRow.__table__)
case_referrals = cast(Table, CaseReferralRow.__table__)
CHUNK = 2000
DELETED_HASH = "deleted"


@dataclass(slots=True)
class Valid:
    """A record that passed mapping and validation (or a tombstone), ready to upsert.

    Only what the upsert needs is kept of the record — its identifiers as inner tokens, its
    generalised contribution, its services and referrals — never the record itself.
    """

    index: int
    source: str
    record_key: str
    content_hash: str
    deleted: bool
    updated_at: datetime | None = None
    subject: identity.Subject | None = None
    contribution: dict[str, Any] | None = None
    services: list[tuple[Any, ...]] | None = None  # (type, start, end, status)
    referrals: list[tuple[Any, ...]] | None = None  # (target, date, outcome)


@dataclass(slots=True)
class _Stored:
    id: int | None
    content_hash: str
    case_pk: int | None
    deleted: bool


@dataclass(slots=True)
class _Op:
    item: Valid
    previous: _Stored | None
    person_id: int | None = None
    contribution: dict[str, Any] | None = None


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def lock_batch(conn: Connection, pseudonymiser: Pseudonymiser) -> int:
    """Take the batch's locks in the order a key rotation takes them (no deadlock).

    Returns the national key version, read under the shared lock.
    """
    version = store.domain_versions(
        conn, [NATIONAL], default_version=pseudonymiser.current_version
    )[NATIONAL]
    conn.execute(text("UPDATE feed_state SET last_seq = last_seq WHERE id = 1"))
    return version


def _stored(
    conn: Connection, city: str, keys: dict[str, list[str]]
) -> dict[tuple[str, str], _Stored]:
    found: dict[tuple[str, str], _Stored] = {}
    for source, record_keys in keys.items():
        rows = rows_by_key(
            conn,
            source_records,
            ("id", "record_key", "content_hash", "case_pk", "deleted"),
            fixed={"city": city, "source": source},
            key="record_key",
            values=record_keys,
        )
        for pk, record_key, content_hash, case_pk, deleted in rows:
            found[(source, record_key)] = _Stored(pk, content_hash, case_pk, bool(deleted))
    return found


def stored_hashes(
    conn: Connection, city: str, items: Sequence[Valid]
) -> dict[tuple[str, str], str]:
    """The stored content hash of each of ``items`` the gateway holds, by source and key."""
    keys: dict[str, list[str]] = {}
    for item in items:
        keys.setdefault(item.source, []).append(item.record_key)
    return {key: stored.content_hash for key, stored in _stored(conn, city, keys).items()}


def classify(conn: Connection, city: str, items: Sequence[Valid]) -> tuple[list[str], list[_Op]]:
    """Each item's outcome, and the operations to apply (one per record, the last wins)."""
    keys: dict[str, list[str]] = {}
    for item in items:
        keys.setdefault(item.source, []).append(item.record_key)
    state = _stored(conn, city, keys)
    outcomes: list[str] = []
    ops: dict[tuple[str, str], _Op] = {}
    for item in items:
        key = (item.source, item.record_key)
        op = ops.get(key)
        current = (
            _Stored(None, op.item.content_hash, None, op.item.deleted)
            if op is not None
            else state.get(key)
        )
        if current is not None and current.content_hash == item.content_hash:
            outcomes.append("duplicate")
            continue
        # A tombstone of a record never seen is stored too: sent again, it is a duplicate.
        outcomes.append("accepted")
        previous = op.previous if op is not None else state.get(key)
        ops[key] = _Op(item, previous)
    return outcomes, list(ops.values())


def apply(
    conn: Connection,
    pseudonymiser: Pseudonymiser,
    *,
    city: str,
    ops: list[_Op],
    now: datetime,
    version: int,
) -> int:
    """Write the operations; return how many cases changed. The caller holds the locks."""
    if not ops:
        return 0
    upserts = [op for op in ops if not op.item.deleted]
    resolution = _link(conn, pseudonymiser, city, upserts, now, version)
    if resolution.merges:
        _refresh_previous(conn, city, ops)
    for op, person in zip(upserts, resolution.person_ids, strict=True):
        op.person_id = person
        op.contribution = op.item.contribution

    # Which cases are touched: the target case of each upsert (persons new in this batch have
    # none yet), the previous case of each changed or deleted record, and the cases that
    # merges folded together.
    new_persons = resolution.new_persons
    known = sorted({p for p in resolution.person_ids if p not in new_persons})
    found = rows_by_key(
        conn, cases, ("person_id", "id"), fixed={"city": city}, key="person_id", values=known
    )
    by_person: dict[int, int] = {person: pk for person, pk in found}
    touched: set[int] = set(by_person.values())
    touched.update(op.previous.case_pk for op in ops if op.previous and op.previous.case_pk)
    survivors = [merge.survivor for merge in resolution.merges]
    if survivors:
        touched.update(
            conn.execute(select(cases.c.id).where(cases.c.person_id.in_(survivors))).scalars()
        )

    rewritten = {op.previous.id for op in ops if op.previous and op.previous.id is not None}
    contributions: dict[int, list[tuple[str, dict[str, Any]]]] = {pk: [] for pk in touched}
    sr = source_records.c
    for chunk in _chunks(sorted(touched)):
        query = select(sr.id, sr.record_key, sr.case_pk, sr.contribution).where(
            sr.case_pk.in_(chunk), sr.deleted.is_(False)
        )
        for row in conn.execute(query):
            if row.id not in rewritten and row.contribution is not None:
                contributions[row.case_pk].append((row.record_key, row.contribution))
    new_cases: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    for op in upserts:
        pair = (op.item.record_key, op.contribution)
        existing = by_person.get(op.person_id)  # type: ignore[arg-type]
        if existing is not None:
            contributions[existing].append(pair)  # type: ignore[arg-type]
        else:
            new_cases.setdefault(op.person_id, []).append(pair)  # type: ignore[arg-type]

    count = len(new_cases) + len(contributions)
    first_seq = store.allocate_feed_seqs(conn, count) if count else 0
    seqs = iter(range(first_seq, first_seq + count))
    case_pk_of = _write_new_cases(conn, city, new_cases, resolution, now, seqs)
    case_pk_of.update(by_person)
    _update_cases(conn, contributions, now, seqs)
    _write_records(conn, city, ops, case_pk_of, now)
    return count


def _link(
    conn: Connection,
    pseudonymiser: Pseudonymiser,
    city: str,
    upserts: list[_Op],
    now: datetime,
    version: int,
) -> identity.Resolution:
    subjects = [op.item.subject for op in upserts]
    records = [
        (city, op.item.source, op.item.record_key, op.previous is None or op.previous.id is None)
        for op in upserts
    ]
    return identity.resolve(
        conn,
        pseudonymiser,
        subjects,  # type: ignore[arg-type]
        records=records,
        now=now,
        version=version,
    )


def _refresh_previous(conn: Connection, city: str, ops: list[_Op]) -> None:
    """Merges may have folded cases: read the changed records' case again."""
    keys: dict[str, list[str]] = {}
    for op in ops:
        if op.previous is not None and op.previous.id is not None:
            keys.setdefault(op.item.source, []).append(op.item.record_key)
    state = _stored(conn, city, keys)
    for op in ops:
        if op.previous is not None and op.previous.id is not None:
            op.previous = state.get((op.item.source, op.item.record_key), op.previous)


def new_case_ids(pks: list[int]) -> list[str]:
    """Case ids that say nothing about the person: 14 random bytes after the row's key.

    The key prefix only orders ids by creation (as the feed does anyway) and keeps inserts
    into the unique index at its end instead of scattering them.
    """
    pool = os.urandom(14 * len(pks))
    # 20 bytes are 32 base32 digits, no padding: one encoding of all ids, cut in 32s.
    raw = b"".join(pk.to_bytes(6, "big") + pool[14 * i : 14 * i + 14] for i, pk in enumerate(pks))
    digits = base64.b32encode(raw).decode().lower()
    return ["k_" + digits[32 * i : 32 * i + 32] for i in range(len(pks))]


CASE_COLUMNS = (
    "id", "case_id", "city", "person_id", "pid", "key_version", "sex", "birth_year",
    "citizenship", "country_of_birth", "years_in_italy", "permit_category", "resident_in_city",
    "opened_on", "closed_on", "status", "intake_channel", "vulnerabilities", "provenance",
    "updated_at", "feed_seq",
)  # fmt: skip
RECORD_COLUMNS = (
    "id", "city", "source", "record_key", "content_hash", "case_pk", "source_updated_at",
    "deleted", "received_at", "contribution",
)  # fmt: skip
SERVICE_COLUMNS = ("case_pk", "source_record_pk", "type", "start", "end", "status")
REFERRAL_COLUMNS = ("case_pk", "source_record_pk", "target", "date", "outcome")


def _write_new_cases(
    conn: Connection,
    city: str,
    new_cases: dict[int, list[tuple[str, dict[str, Any]]]],
    resolution: identity.Resolution,
    now: datetime,
    seqs: Iterator[int],
) -> dict[int, int]:
    if not new_cases:
        return {}
    persons = list(new_cases)
    ids = allocate_ids(conn, cases, len(persons))
    case_ids = new_case_ids(ids)
    v = values_for(conn)
    date, flag, json = v.date, v.flag, v.json
    stamp = v.stamp(now)
    pids, version = resolution.pids, resolution.key_version
    assemble = assembly.assemble
    rows = []
    for person, pk, case_id in zip(persons, ids, case_ids, strict=True):
        c = assemble(new_cases[person])
        rows.append(
            (
                pk,
                case_id,
                city,
                person,
                pids[person],
                version,
                c["sex"],
                c["birth_year"],
                c["citizenship"],
                c["country_of_birth"],
                c["years_in_italy"],
                c["permit_category"],
                flag(c["resident_in_city"]),
                date(c["opened_on"]),
                date(c["closed_on"]),
                c["status"],
                c["intake_channel"],
                json(c["vulnerabilities"]),
                json(c["provenance"]),
                stamp,
                next(seqs),
            )
        )
    insert_rows(conn, cases, CASE_COLUMNS, rows)
    return dict(zip(persons, ids, strict=True))


def _update_cases(
    conn: Connection,
    contributions: dict[int, list[tuple[str, dict[str, Any]]]],
    now: datetime,
    seqs: Iterator[int],
) -> None:
    if not contributions:
        return
    rows = []
    for pk in sorted(contributions):
        row = assembly.assemble(contributions[pk])
        row.update(b_id=pk, updated_at=now, feed_seq=next(seqs))
        rows.append(row)
    # The SET clause is every other key of the rows (SQLAlchemy's executemany UPDATE).
    conn.execute(update(cases).where(cases.c.id == bindparam("b_id")), rows)


def _write_records(
    conn: Connection, city: str, ops: list[_Op], case_pk_of: dict[int, int], now: datetime
) -> None:
    v = values_for(conn)
    stamp, json, flag = v.stamp(now), v.json, v.flag
    inserts: list[_Op] = []
    updates: list[tuple[_Op, dict[str, Any]]] = []
    for op in ops:
        if op.previous is not None and op.previous.id is not None:
            item = op.item
            values = {
                "b_id": op.previous.id,
                "content_hash": item.content_hash,
                "case_pk": case_pk_of[op.person_id] if op.person_id is not None else None,
                "source_updated_at": item.updated_at,
                "deleted": item.deleted,
                "received_at": now,
                "contribution": op.contribution,
            }
            updates.append((op, values))
        else:
            inserts.append(op)
    record_pk: dict[int, int] = {}
    if updates:
        changed = [row["b_id"] for _, row in updates]
        for chunk in _chunks(changed):
            conn.execute(delete(case_services).where(case_services.c.source_record_pk.in_(chunk)))
            conn.execute(delete(case_referrals).where(case_referrals.c.source_record_pk.in_(chunk)))
        conn.execute(
            update(source_records).where(source_records.c.id == bindparam("b_id")),
            [row for _, row in updates],
        )
        record_pk.update((id(op), row["b_id"]) for op, row in updates)
    if inserts:
        ids = allocate_ids(conn, source_records, len(inserts))
        rows = []
        for op, pk in zip(inserts, ids, strict=True):
            item = op.item
            record_pk[id(op)] = pk
            rows.append(
                (
                    pk,
                    city,
                    item.source,
                    item.record_key,
                    item.content_hash,
                    case_pk_of[op.person_id] if op.person_id is not None else None,
                    v.stamp(item.updated_at),
                    flag(item.deleted),
                    stamp,
                    json(op.contribution),
                )
            )
        insert_rows(conn, source_records, RECORD_COLUMNS, rows)
    services: list[tuple[Any, ...]] = []
    referrals: list[tuple[Any, ...]] = []
    date = v.date
    for op in ops:
        item = op.item
        if item.deleted or op.person_id is None:
            continue
        case_pk, record_pk_ = case_pk_of[op.person_id], record_pk[id(op)]
        for kind, start, end, status in item.services or ():
            services.append((case_pk, record_pk_, kind, date(start), date(end), status))
        for target, day, outcome in item.referrals or ():
            referrals.append((case_pk, record_pk_, target, date(day), outcome))
    insert_rows(conn, case_services, SERVICE_COLUMNS, services)
    insert_rows(conn, case_referrals, REFERRAL_COLUMNS, referrals)
