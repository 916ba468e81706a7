"""Blocking keys at rest: how a batch finds its candidates without the whole index in memory.

A process-wide linker holding every person grows without bound (measured: ~5 KB a person,
so gigabytes for a million records). The sync engine instead builds a small
:class:`~gateway.privacy.linkage.Linker` for each batch and fills it with the batch's
*neighbourhood*, read by key (:func:`neighbourhood`):

- persons holding one of the batch's inner tokens (``identity_tokens``);
- persons sharing one of its blocking keys (``linkage_blocks``) — only persons *without* a
  fiscal code for keys that only records holding one use: a person with another code cannot
  be theirs; keys shared by more than :data:`~gateway.privacy.linkage.MAX_BLOCK` persons are
  too common to say anything and are skipped, as the in-memory linker does;
- then the stored features of those persons (``linkage_features``).

The batch writes its records' keys back, marks persons who gained a fiscal code and re-points
the keys of merged persons (:func:`settle`), all in its own transaction. Keys are stored as
64-bit integers (the 8 bytes of the keyed hash): everything stored is a keyed hash or an id
(BRIEF §5).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Connection, Table, select, text

from gateway.privacy import linkage_store
from gateway.privacy.features import LinkageFeatures, counted_parts
from gateway.privacy.identifiers import Kind
from gateway.privacy.linkage import MAX_BLOCK, Frequencies, Linker, Merge
from gateway.privacy.store import _chunks
from gateway.storage.identity import IdentityTokenRow
from gateway.storage.linkage import LinkageBlockRow, LinkageFeaturesRow

__all__ = ["count_frequencies", "neighbourhood", "rebuild_blocks", "settle"]

blocks_table = cast(Table, LinkageBlockRow.__table__)
features_table = cast(Table, LinkageFeaturesRow.__table__)
tokens_table = cast(Table, IdentityTokenRow.__table__)
_PAGE = 5000


def _int(key: bytes) -> int:
    """A blocking key as stored: its 8 bytes as a signed 64-bit integer."""
    return int.from_bytes(key, "big", signed=True)


def is_coded(f: LinkageFeatures) -> bool:
    """Whether a record holds a fiscal code."""
    return any(kind is Kind.FISCAL_CODE for kind, _ in f.strong)


def neighbourhood(
    conn: Connection, batch: Sequence[LinkageFeatures]
) -> dict[int, list[LinkageFeatures]]:
    """The stored records of every person the records of ``batch`` may belong to, by person.

    On PostgreSQL each key is one index probe (``unnest`` of an array, ``LATERAL`` lookup):
    an ``IN`` list is planned from statistics, and before a table's first ``ANALYZE`` the
    planner may scan the table instead, a cost that grows with it (see
    :func:`gateway.sync.bulk.rows_by_key`).
    """
    postgres = conn.dialect.name == "postgresql"
    tokens = list(dict.fromkeys(token for f in batch for _, token in f.strong))
    persons: set[int] = set()
    for token_chunk in _chunks(tokens):
        if postgres:
            persons.update(conn.execute(_PG_TOKENS, {"keys": list(token_chunk)}).scalars())
        else:
            query = select(tokens_table.c.person_id).where(tokens_table.c.token.in_(token_chunk))
            persons.update(conn.execute(query).scalars())
    every: set[bytes] = set()  # keys of records without a code: all persons
    uncoded: set[bytes] = set()  # keys of records with one: persons without a code
    for f in batch:
        (uncoded if is_coded(f) else every).update(f.blocks)
    uncoded -= every
    members: defaultdict[int, list[int]] = defaultdict(list)
    for keys, only_uncoded in ((every, False), (uncoded, True)):
        for chunk in _chunks(sorted(_int(key) for key in keys)):
            if postgres:
                pg_query = _PG_UNCODED if only_uncoded else _PG_BLOCKS
                rows = conn.execute(pg_query, {"keys": list(chunk), "most": MAX_BLOCK + 1})
            else:
                query = select(blocks_table.c.block, blocks_table.c.person_id).where(
                    blocks_table.c.block.in_(chunk)
                )
                if only_uncoded:
                    query = query.where(blocks_table.c.coded.is_(False))
                rows = conn.execute(query)
            for block, person_id in rows:
                members[block].append(person_id)
    for ids in members.values():
        if len(ids) <= MAX_BLOCK:
            persons.update(ids)
    stored: defaultdict[int, list[LinkageFeatures]] = defaultdict(list)
    columns = features_table.c
    for chunk in _chunks(sorted(persons)):
        if postgres:
            rows = conn.execute(_PG_FEATURES, {"keys": list(chunk)})
        else:
            rows = conn.execute(
                select(columns.person_id, columns.city, columns.source, columns.features)
                .where(columns.person_id.in_(chunk))
                .order_by(columns.id)
            )
        for person_id, city, source, data in rows:
            stored[person_id].append(
                LinkageFeatures.from_bytes(bytes(data), city=city, source=source)
            )
    return dict(stored)


_PG_TOKENS = text(
    "SELECT t.person_id FROM unnest(CAST(:keys AS BYTEA[])) AS k(v) "
    "CROSS JOIN LATERAL (SELECT person_id FROM identity_tokens AS r "
    "WHERE r.token = k.v LIMIT 1) AS t"
)
_PG_BLOCKS = text(
    "SELECT t.block, t.person_id FROM unnest(CAST(:keys AS BIGINT[])) AS k(v) "
    "CROSS JOIN LATERAL (SELECT block, person_id FROM linkage_blocks AS r "
    "WHERE r.block = k.v LIMIT :most) AS t"
)
_PG_UNCODED = text(
    "SELECT t.block, t.person_id FROM unnest(CAST(:keys AS BIGINT[])) AS k(v) "
    "CROSS JOIN LATERAL (SELECT block, person_id FROM linkage_blocks AS r "
    "WHERE r.block = k.v AND NOT r.coded LIMIT :most) AS t"
)
_PG_FEATURES = text(
    "SELECT t.person_id, t.city, t.source, t.features FROM unnest(CAST(:keys AS BIGINT[])) "
    "AS k(v) CROSS JOIN LATERAL (SELECT id, person_id, city, source, features "
    "FROM linkage_features AS r WHERE r.person_id = k.v) AS t ORDER BY t.id"
)


def settle(
    conn: Connection,
    linker: Linker,
    *,
    neighbours: Mapping[int, Sequence[LinkageFeatures]],
    uncoded: Iterable[int],
    batch: Sequence[LinkageFeatures],
    persons: Sequence[int],
    merges: Sequence[Merge],
) -> None:
    """Write what the batch changed of ``linkage_blocks``, in its transaction.

    ``neighbours`` is what :func:`neighbourhood` returned (the linker was filled with it),
    ``uncoded`` those of them who held no fiscal code before the batch, ``persons`` the person
    of each record of ``batch`` and ``merges`` the merges of stored persons the linker made.
    The records' keys are added; keys of absorbed persons move to their survivors; persons
    who gained a code are marked, so that records holding one find them no more.
    """
    find, coded = linker.find, linker.coded
    held: dict[int, set[bytes]] = {}  # the keys each person has at rest, and the batch's added

    def keys_of(person: int) -> set[bytes]:
        found = held.get(person)
        if found is None:
            found = held[person] = {key for f in neighbours.get(person, ()) for key in f.blocks}
        return found

    flags: dict[int, bool] = {}
    rows: list[tuple[int, int, bool]] = []
    for person, f in zip(persons, batch, strict=True):
        flag = flags.get(person)
        if flag is None:
            flag = flags[person] = coded(person)
        have = keys_of(person)
        fresh = [key for key in f.blocks if key not in have]
        have.update(fresh)
        rows += [(_int(key), person, flag) for key in fresh]
    removed: list[tuple[int, int]] = []
    for merge in merges:
        into = find(merge.into)
        flag = coded(into)
        for f in neighbours.get(merge.absorbed, ()):
            for key in f.blocks:
                rows.append((_int(key), into, flag))
                removed.append((_int(key), merge.absorbed))
    absorbed = {merge.absorbed for merge in merges}
    recoded = [
        (_int(key), person)
        for person in uncoded
        if person not in absorbed and coded(person)
        for key in {key for f in neighbours[person] for key in f.blocks}
    ]  # (the rows the batch added for them were written with the new flag)
    rows.sort()  # in B-tree order: measured a third cheaper to insert
    if conn.dialect.name == "postgresql":
        _settle_postgres(conn, rows, removed, recoded)
        return
    if removed:
        conn.exec_driver_sql(
            "DELETE FROM linkage_blocks WHERE block = ? AND person_id = ?", removed
        )
    if rows:
        conn.exec_driver_sql(
            "INSERT OR IGNORE INTO linkage_blocks (block, person_id, coded) VALUES (?, ?, ?)",
            rows,
        )
    if recoded:
        conn.exec_driver_sql(
            "UPDATE linkage_blocks SET coded = 1 WHERE block = ? AND person_id = ?", recoded
        )


def _settle_postgres(
    conn: Connection,
    rows: list[tuple[int, int, bool]],
    removed: list[tuple[int, int]],
    recoded: list[tuple[int, int]],
) -> None:
    # COPY streams the rows; ON CONFLICT needs an INSERT, hence the temporary table.
    raw: Any = conn.connection.dbapi_connection  # a psycopg.Connection
    with raw.cursor() as cursor:
        if removed:
            cursor.executemany(
                "DELETE FROM linkage_blocks WHERE block = %s AND person_id = %s", removed
            )
        if rows:
            cursor.execute(
                "CREATE TEMPORARY TABLE IF NOT EXISTS lgnet_blocks_in "
                "(block bigint, person_id bigint, coded boolean) ON COMMIT DELETE ROWS"
            )
            with cursor.copy("COPY lgnet_blocks_in (block, person_id, coded) FROM STDIN") as copy:
                write = copy.write_row
                for row in rows:
                    write(row)
            cursor.execute(
                "INSERT INTO linkage_blocks (block, person_id, coded) "
                "SELECT block, person_id, coded FROM lgnet_blocks_in ON CONFLICT DO NOTHING"
            )
            cursor.execute("TRUNCATE lgnet_blocks_in")
        if recoded:
            cursor.executemany(
                "UPDATE linkage_blocks SET coded = true WHERE block = %s AND person_id = %s",
                recoded,
            )


_BIG_PAGE = 20_000
_PAGE_OF_FEATURES = (
    "SELECT id, features FROM linkage_features WHERE id > {mark} ORDER BY id LIMIT {mark}"
)


def count_frequencies(conn: Connection, frequencies: Frequencies, *, after_id: int = 0) -> int:
    """Count in ``frequencies`` the stored features with ``id > after_id``; return the last id."""
    last = after_id
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    # The DBAPI cursor of the connection, in its transaction: a process counts every stored
    # record when it starts, and SQLAlchemy's rows would cost as much as the counting.
    cursor: Any = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    count = frequencies.count_keys
    try:
        while True:
            cursor.execute(_PAGE_OF_FEATURES.format(mark=mark), (last, _BIG_PAGE))
            page = cursor.fetchall()
            for _, data in page:
                count(*counted_parts(bytes(data)))
            if len(page) < _BIG_PAGE:
                return int(page[-1][0]) if page else last
            last = int(page[-1][0])
    finally:
        cursor.close()


def rebuild_blocks(conn: Connection) -> int:
    """Derive ``linkage_blocks`` from the stored features (the 0007 migration); return the
    number of rows written."""
    conn.execute(blocks_table.delete())
    survivors = linkage_store.survivors_of(conn)
    keys: defaultdict[int, set[bytes]] = defaultdict(set)
    coded: set[int] = set()
    last = 0
    columns = features_table.c
    while True:
        page = conn.execute(
            select(columns.id, columns.city, columns.source, columns.person_id, columns.features)
            .where(columns.id > last)
            .order_by(columns.id)
            .limit(_PAGE)
        ).all()
        for row in page:
            f = LinkageFeatures.from_bytes(bytes(row.features), city=row.city, source=row.source)
            person = survivors.get(row.person_id, row.person_id)
            keys[person].update(f.blocks)
            if is_coded(f):
                coded.add(person)
        if len(page) < _PAGE:
            break
        last = page[-1].id
    rows = [
        (_int(block), person, person in coded)
        for person, blocks in keys.items()
        for block in blocks
    ]
    for chunk in _chunks(rows, 20_000):
        conn.execute(
            blocks_table.insert(),
            [{"block": b, "person_id": p, "coded": c} for b, p, c in chunk],
        )
    return len(rows)
