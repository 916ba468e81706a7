"""Identity step of the pipeline: from validated records to persons and national pseudonyms.

The thin layer between the sync engine and :mod:`gateway.privacy`:

1. outside the batch's transaction, each record's subject becomes keyed linkage features
   (:class:`~gateway.privacy.features.FeatureEncoder`: inner tokens of its identifiers, keyed
   name and date features) — identifiers and names go no further;
2. inside it, the process's in-memory :class:`~gateway.privacy.linkage.Linker` — loaded from
   the stored features on first use, then brought up to date with what other processes stored
   (:func:`~gateway.privacy.linkage_store.refresh`) — decides each record's person
   (deterministic on identifiers, probabilistic otherwise, possible matches to review);
3. new persons, their tokens and national pseudonyms, merges of persons the batch proved to be
   one, the records' features and the review list are written in the batch's transaction.

The linker is shared by the threads of one process (the scheduler's workers, the API's pushes);
the batch's database lock already lets one batch at a time through. If a batch's transaction
rolls back, the linker — which has seen its records — is dropped and reloaded for the next one.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Connection, Engine, event, func, select

from gateway.privacy import linkage_store, store
from gateway.privacy.features import FEATURES_VERSION, FeatureEncoder, LinkageFeatures
from gateway.privacy.identifiers import identifiers_of
from gateway.privacy.keys import NATIONAL
from gateway.privacy.linkage import Linker
from gateway.privacy.pseudonyms import PERSON_TOKEN_BYTES, Pseudonymiser
from gateway.schema.intake import IntakeRecord
from gateway.sync.bulk import insert_rows, values_for
from gateway.sync.ids import allocate_ids


@dataclass(slots=True)
class Subject:
    """What identity resolution needs of one record: its keyed linkage features, and the
    validity of its time-limited identifiers (STP/ENI) by inner token."""

    features: LinkageFeatures = field(repr=False)
    valid_until: dict[bytes, date] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class Resolution:
    """Each subject's person (survivor after merges), the persons' pids, and the merges."""

    person_ids: list[int]
    pids: dict[int, str]
    key_version: int
    merges: list[store.MergeResult]
    new_persons: frozenset[int] = frozenset()


def subject_of(
    encoder: FeatureEncoder,
    record: IntakeRecord,
    *,
    city: str,
    source: str,
) -> Subject:
    """The keyed features of a record's subject (computed outside any transaction)."""
    updated = record.source.updated_at
    seen_on = updated.date() if isinstance(updated, datetime) else None
    found = identifiers_of(record.subject.identifiers, city=city, source=source, seen_on=seen_on)
    features = encoder.encode(
        record.subject, city=city, source=source, identifiers=found, seen_on=seen_on
    )
    limited = {
        token: item.valid_until
        for (_, token), item in zip(features.strong, found, strict=True)
        if item.valid_until is not None
    }
    return Subject(features, limited)


class _LinkerState:
    """The process's linker for one database, and how far it has read the stored features."""

    def __init__(self) -> None:
        self.linker: Linker | None = None
        self.last_id = 0
        self.lock = threading.Lock()
        self.next_id: _IdPool | None = None

    def allocate(self) -> int:
        """The linker's ``next_person_id``: an id from the running batch's pool."""
        if self.next_id is None:
            raise RuntimeError("the linker created a person outside a batch")
        return self.next_id()


class _IdPool:
    """Person ids for the linker's new persons within one batch."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.pool: list[int] = []
        self.sqlite_next: int | None = None

    def __call__(self) -> int:
        if self.conn.dialect.name == "sqlite":
            # Past the largest id (the batch holds the write lock); persons are inserted later.
            if self.sqlite_next is None:
                self.sqlite_next = allocate_ids(self.conn, store.persons, 1)[0]
            self.sqlite_next += 1
            return self.sqlite_next - 1
        if not self.pool:
            self.pool = allocate_ids(self.conn, store.persons, 256)[::-1]
        return self.pool.pop()


_STATES: dict[str, _LinkerState] = {}
_STATES_LOCK = threading.Lock()
_LISTENING: weakref.WeakSet[Engine] = weakref.WeakSet()


def _state_of(engine: Engine) -> _LinkerState:
    """The linker state of the engine's database (shared by engines of one URL)."""
    key = engine.url.render_as_string(hide_password=False)
    with _STATES_LOCK:
        state = _STATES.get(key)
        if state is None:
            state = _STATES[key] = _LinkerState()
        if engine not in _LISTENING:
            # A batch whose transaction rolls back has taught the linker things that are not
            # stored: forget the linker, the next batch reloads it.
            event.listen(engine, "rollback", _on_rollback)
            event.listen(engine, "commit", _on_commit)
            _LISTENING.add(engine)
        return state


def _on_rollback(conn: Connection) -> None:
    state = conn.info.pop("lgnet_linked", None)
    if isinstance(state, _LinkerState):
        state.linker = None


def _on_commit(conn: Connection) -> None:
    conn.info.pop("lgnet_linked", None)


def forget_linkers() -> None:
    """Drop every cached linker (tests; after restoring a database)."""
    with _STATES_LOCK:
        for state in _STATES.values():
            state.linker = None


def resolve(
    conn: Connection,
    pseudonymiser: Pseudonymiser,
    subjects: Sequence[Subject],
    *,
    records: Sequence[tuple[str, str, str, bool]],
    now: datetime,
    version: int,
) -> Resolution:
    """Persons of ``subjects``, within the caller's transaction and locks.

    ``records`` gives each subject's city, source, record key and whether the record is new
    to the gateway. ``version`` is the national key version, read under the batch's shared
    lock (:func:`gateway.privacy.store.domain_versions`).
    """
    state = _state_of(conn.engine)
    with state.lock:
        pool = _IdPool(conn)
        state.next_id = pool
        conn.info["lgnet_linked"] = state
        if state.linker is None:
            state.linker, state.last_id = linkage_store.load_linker(
                conn, next_person_id=state.allocate
            )
        else:
            state.last_id = linkage_store.refresh(conn, state.linker, after_id=state.last_id)
        linker = state.linker
        features = [subject.features for subject in subjects]
        decisions = linker.link(features)
        created = {d.person_id for d in decisions if d.created}
        final = [linker.find(d.person_id) for d in decisions]
        new_ids = sorted(p for p in created if linker.find(p) == p)
        merges = [m for d in decisions for m in d.merges if m.absorbed not in created]
        reviews = [d.review for d in decisions if d.review is not None]

        pids = _create_persons(conn, pseudonymiser, new_ids, now, version)
        results = [
            store.merge_persons(conn, pseudonymiser, m.into, m.absorbed, now=now) for m in merges
        ]
        linkage_store.apply_merges(conn, merges)
        _attach_tokens(conn, subjects, final, now)
        _save_features(conn, records, final, subjects, now)
        if reviews:
            find = linker.find
            linkage_store.save_reviews(
                conn,
                [
                    type(r)(find(r.person_id), find(r.candidate_id), r.score, r.levels)
                    for r in reviews
                ],
                now=now,
            )
        # Every stored row up to here is in the linker: ours, and others' read by refresh.
        top = conn.execute(select(func.max(linkage_store.features_table.c.id))).scalar()
        state.last_id = int(top or 0)
        state.next_id = None
    earlier = [p for p in dict.fromkeys(final) if p not in pids]
    if earlier:
        pids.update(store.pseudonyms_of(conn, earlier, NATIONAL))
        missing = [p for p in earlier if p not in pids]
        if missing:
            pids.update(store.ensure_pseudonyms(conn, pseudonymiser, missing, NATIONAL)[0])
    return Resolution(final, pids, version, results, frozenset(new_ids))


def _save_features(
    conn: Connection,
    records: Sequence[tuple[str, str, str, bool]],
    persons: list[int],
    subjects: Sequence[Subject],
    now: datetime,
) -> None:
    """Store each record's features with its person: a plain bulk insert for records new to
    the gateway (they have no stored features), the store's upsert for the others."""
    fresh: list[tuple[object, ...]] = []
    again: list[linkage_store.LinkedRecord] = []
    stamp = values_for(conn).stamp(now)
    for (city, source, key, new), person, subject in zip(records, persons, subjects, strict=True):
        if new:
            features = subject.features.to_bytes()
            fresh.append((city, source, key, person, FEATURES_VERSION, features, stamp))
        else:
            again.append(linkage_store.LinkedRecord(city, source, key, person, subject.features))
    columns = ("city", "source", "record_key", "person_id", "version", "features", "updated_at")
    insert_rows(conn, linkage_store.features_table, columns, fresh)
    linkage_store.save_features(conn, again, now=now)


def _create_persons(
    conn: Connection, pseudonymiser: Pseudonymiser, ids: list[int], now: datetime, version: int
) -> dict[int, str]:
    """Insert persons with fresh random tokens and their national pseudonyms."""
    if not ids:
        return {}
    size = PERSON_TOKEN_BYTES
    pool = os.urandom(size * len(ids))  # one call to the system's random source
    tokens = [pool[i : i + size] for i in range(0, size * len(ids), size)]
    stamp = values_for(conn).stamp(now)
    insert_rows(
        conn,
        store.persons,
        ("id", "person_token", "created_at"),
        [(i, t, stamp) for i, t in zip(ids, tokens, strict=True)],
    )
    pids = dict(zip(ids, pseudonymiser.pseudonyms(NATIONAL, tokens, version), strict=True))
    insert_rows(
        conn,
        store.pseudonyms,
        ("person_id", "domain", "key_version", "value"),
        [(i, NATIONAL, version, pids[i]) for i in ids],
    )
    return pids


def _attach_tokens(
    conn: Connection, subjects: Sequence[Subject], persons: list[int], now: datetime
) -> None:
    """Store the inner tokens not stored yet; extend the validity of time-limited ones."""
    all_tokens = [token for s in subjects for _, token in s.features.strong]
    if not all_tokens:
        return
    known = store.find_persons(conn, all_tokens)
    fresh: dict[bytes, tuple[bytes, str, int]] = {}
    limited: dict[bytes, store.TokenLink] = {}
    for subject, person in zip(subjects, persons, strict=True):
        for kind, token in subject.features.strong:
            valid_until = subject.valid_until.get(token)
            if valid_until is not None:
                limited[token] = store.TokenLink(token, kind.value, person, valid_until)
            elif token not in known:
                fresh[token] = (token, kind.value, person)
    insert_rows(conn, store.tokens_table, ("token", "kind", "person_id"), list(fresh.values()))
    store.attach_tokens(conn, limited.values())
