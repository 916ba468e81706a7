"""Identity step of the pipeline: from validated records to persons and national pseudonyms.

The thin layer between the sync engine and :mod:`gateway.privacy`:

1. outside the batch's transaction, each record's subject becomes keyed linkage features
   (:class:`~gateway.privacy.features.FeatureEncoder`: inner tokens of its identifiers, keyed
   name and date features) — identifiers and names go no further;
2. inside it, a :class:`~gateway.privacy.linkage.Linker` built for the batch and filled with
   its neighbourhood — the stored records of every person holding one of its identifiers or
   sharing one of its blocking keys (:func:`~gateway.privacy.linkage_blocks.neighbourhood`) —
   decides each record's person (deterministic on identifiers, probabilistic otherwise,
   possible matches to review). Memory thus stays flat however many persons are stored, and
   what other processes wrote is read with the batch;
3. new persons, their tokens and national pseudonyms, merges of persons the batch proved to be
   one, the records' features and blocking keys and the review list are written in the batch's
   transaction.

What persists in the process is only the term frequencies of names and birth dates over all
stored records (:class:`~gateway.privacy.linkage.Frequencies`), counted once from the stored
features and then kept up to date with each batch and with what other processes stored. The
batch's database lock lets one batch at a time through; if a batch's transaction rolls back,
the frequencies — which have counted its records — are dropped and counted again.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Container, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Connection, Engine, event, func, select

from gateway.privacy import linkage_blocks, linkage_store, store
from gateway.privacy.features import FEATURES_VERSION, FeatureEncoder, LinkageFeatures
from gateway.privacy.identifiers import identifiers_of
from gateway.privacy.keys import NATIONAL
from gateway.privacy.linkage import Frequencies, Linker
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
    """The process's term frequencies for one database, and how far it has counted the stored
    features."""

    def __init__(self) -> None:
        self.frequencies: Frequencies | None = None
        self.last_id = 0
        self.lock = threading.Lock()


class _IdPool:
    """Person ids for the linker's new persons within one batch.

    On PostgreSQL ids come from the sequence in blocks that double (256, 512, ... 4096), so
    a batch of mostly new persons takes a few round trips and one of known persons wastes
    few ids.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.pool: list[int] = []
        self.block = 256
        self.sqlite_next: int | None = None

    def __call__(self) -> int:
        if self.conn.dialect.name == "sqlite":
            # Past the largest id (the batch holds the write lock); persons are inserted later.
            if self.sqlite_next is None:
                self.sqlite_next = allocate_ids(self.conn, store.persons, 1)[0]
            self.sqlite_next += 1
            return self.sqlite_next - 1
        if not self.pool:
            self.pool = allocate_ids(self.conn, store.persons, self.block)[::-1]
            self.block = min(2 * self.block, 4096)
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
        state.frequencies = None


def _on_commit(conn: Connection) -> None:
    conn.info.pop("lgnet_linked", None)


def forget_linkers() -> None:
    """Drop every process's term frequencies (tests; after restoring a database)."""
    with _STATES_LOCK:
        for state in _STATES.values():
            state.frequencies = None


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
        conn.info["lgnet_linked"] = state
        if state.frequencies is None:
            state.frequencies, state.last_id = Frequencies(), 0
        state.last_id = linkage_blocks.count_frequencies(
            conn, state.frequencies, after_id=state.last_id
        )
        linker = Linker(next_person_id=_IdPool(conn), frequencies=state.frequencies)
        features = [subject.features for subject in subjects]
        neighbours = linkage_blocks.neighbourhood(conn, features)
        for person_id, stored in neighbours.items():
            for known in stored:
                linker.add(person_id, known, count=False)
        uncoded = {p for p in neighbours if not linker.coded(p)}
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
        linkage_blocks.settle(
            conn,
            linker,
            neighbours=neighbours,
            uncoded=uncoded,
            batch=features,
            persons=final,
            merges=merges,
        )
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
        # Every stored row up to here is counted: ours, and others' read before linking.
        top = conn.execute(select(func.max(linkage_store.features_table.c.id))).scalar()
        state.last_id = int(top or 0)
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
    # SQLite skips stored tokens in the insert itself (the unique index is probed anyway);
    # COPY cannot skip rows, so on PostgreSQL they are read first.
    sqlite = conn.dialect.name == "sqlite"
    known: Container[bytes] = () if sqlite else store.find_persons(conn, all_tokens)
    fresh: dict[bytes, tuple[bytes, str, int]] = {}
    limited: dict[bytes, store.TokenLink] = {}
    for subject, person in zip(subjects, persons, strict=True):
        for kind, token in subject.features.strong:
            valid_until = subject.valid_until.get(token)
            if valid_until is not None:
                limited[token] = store.TokenLink(token, kind.value, person, valid_until)
            elif token not in known:
                fresh[token] = (token, kind.value, person)
    insert_rows(
        conn,
        store.tokens_table,
        ("token", "kind", "person_id"),
        list(fresh.values()),
        skip_stored="token" if sqlite else None,
    )
    store.attach_tokens(conn, limited.values())
