"""Key rotation: move every pseudonym of a domain to a new key version, atomically.

Pseudonyms are re-derived from the stored random person tokens (tier 2 of
:mod:`gateway.privacy.pseudonyms`), so no identity is needed. One rotation is ONE
transaction, on SQLite and PostgreSQL alike:

1. lock the domain's ``key_versions`` row (writers hold a shared lock on it while they
   write pseudonyms, see :mod:`gateway.privacy.store`): nobody adds an old-version pseudonym
   while we work;
2. compute the domain's new pseudonyms in batches (keyset pagination by id, so memory stays
   flat), stage them in a temporary table, and apply them with one ``UPDATE ... FROM``;
3. for the national domain, give every case its new ``pid`` and ``key_version`` and a new
   change-feed position, so the national platform reads each case again with its new pid;
4. set the domain's ``current_version``, check that nothing is left at another version, commit.

A crash anywhere before the commit leaves the old version everywhere; after it, the new one.
The feed is blocked for writers while a national rotation runs (it holds ``feed_state``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    MetaData,
    String,
    Table,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)

from gateway.privacy.keys import NATIONAL, check_domain
from gateway.privacy.pseudonyms import Pseudonymiser
from gateway.privacy.store import allocate_feed_seqs, cases, key_versions, persons, pseudonyms

Progress = Callable[[int, int], None]  # (pseudonyms done, total)
BATCH = 20_000
SQLITE_CACHE_MIB = 256


class RotationError(RuntimeError):
    """The rotation cannot run as asked (unknown domain, version not newer, key missing)."""


@dataclass(frozen=True, slots=True)
class RotationResult:
    domain: str
    from_version: int
    to_version: int
    pseudonyms: int
    cases: int
    seconds: float


@dataclass(frozen=True, slots=True)
class DomainStatus:
    domain: str
    current_version: int
    rotated_at: datetime | None
    pseudonyms: int
    by_version: dict[int, int]


def status(conn: Connection) -> list[DomainStatus]:
    """Every domain: its current version, when it was rotated, its pseudonyms by version."""
    counts: dict[str, dict[int, int]] = {}
    query = select(pseudonyms.c.domain, pseudonyms.c.key_version, func.count()).group_by(
        pseudonyms.c.domain, pseudonyms.c.key_version
    )
    for domain, version, count in conn.execute(query):
        counts.setdefault(domain, {})[version] = count
    rows = conn.execute(select(key_versions).order_by(key_versions.c.domain)).all()
    return [
        DomainStatus(
            domain=row.domain,
            current_version=row.current_version,
            rotated_at=row.rotated_at,
            pseudonyms=sum(counts.get(row.domain, {}).values()),
            by_version=dict(sorted(counts.get(row.domain, {}).items())),
        )
        for row in rows
    ]


def domains(conn: Connection) -> list[str]:
    """Domains with a key version (what ``--domain all`` rotates), national first."""
    names = conn.execute(select(key_versions.c.domain)).scalars().all()
    return sorted(names, key=lambda d: (d != NATIONAL, d))


def rotate(
    engine: Engine,
    pseudonymiser: Pseudonymiser,
    domain: str,
    *,
    to_version: int | None = None,
    batch_size: int = BATCH,
    progress: Progress | None = None,
    now: datetime | None = None,
    sqlite_cache_mib: int = SQLITE_CACHE_MIB,
) -> RotationResult:
    """Rotate ``domain`` to ``to_version`` (default: the keyring's current version).

    On SQLite the page cache of the rotating connection is raised to ``sqlite_cache_mib``
    for the rotation: rewriting a unique index of random values in one transaction spills
    and re-reads pages otherwise (about twice as slow at 300,000 pseudonyms).
    """
    check_domain(domain)
    target = pseudonymiser.current_version if to_version is None else to_version
    if target not in pseudonymiser.keyring.versions:
        raise RotationError(f"key version {target} is not in the key file")
    started = time.perf_counter()
    with engine.connect() as conn, _sqlite_cache(conn, sqlite_cache_mib), conn.begin():
        # First statement is a write: it takes the row lock (PostgreSQL) or the database
        # write lock (SQLite) before anything is read.
        locked = conn.execute(
            update(key_versions)
            .where(key_versions.c.domain == domain)
            .values(rotated_at=key_versions.c.rotated_at)
        )
        if locked.rowcount == 0:
            raise RotationError(f"domain {domain} has no pseudonyms: nothing to rotate")
        current = conn.execute(
            select(key_versions.c.current_version).where(key_versions.c.domain == domain)
        ).scalar_one()
        if target <= current:
            raise RotationError(
                f"domain {domain} is at key version {current}; rotation needs a newer one "
                f"(add one with `lgnet keys add-version`)"
            )
        moved = _rewrite_pseudonyms(conn, pseudonymiser, domain, target, batch_size, progress)
        touched = _repoint_cases(conn, target) if domain == NATIONAL else 0
        conn.execute(
            update(key_versions)
            .where(key_versions.c.domain == domain)
            .values(current_version=target, rotated_at=now or datetime.now(UTC))
        )
        _check_complete(conn, domain, target)
    return RotationResult(domain, current, target, moved, touched, time.perf_counter() - started)


@contextmanager
def _sqlite_cache(conn: Connection, mib: int) -> Iterator[None]:
    """Raise SQLite's page cache of ``conn`` for the block (which runs its own transaction)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
    conn.exec_driver_sql(f"PRAGMA cache_size = -{int(mib) * 1024}")
    conn.commit()
    try:
        yield
    finally:
        if conn.in_transaction():
            conn.rollback()
        conn.exec_driver_sql(f"PRAGMA cache_size = {int(before)}")
        conn.commit()


# New values are staged in a temporary table, then applied by one UPDATE ... FROM: several
# times faster than an executemany of single-row UPDATEs (PostgreSQL above all, fed by COPY).
_STAGE = Table(
    "rotation_values",
    MetaData(),
    Column("id", BigInteger, primary_key=True),
    Column("value", String(80), nullable=False),
    prefixes=["TEMPORARY"],
)


def _rewrite_pseudonyms(
    conn: Connection,
    pseudonymiser: Pseudonymiser,
    domain: str,
    target: int,
    batch_size: int,
    progress: Progress | None,
) -> int:
    total = conn.execute(
        select(func.count()).select_from(pseudonyms).where(pseudonyms.c.domain == domain)
    ).scalar_one()
    if progress:
        progress(0, total)
    page = (
        select(pseudonyms.c.id, persons.c.person_token)
        .join(persons, persons.c.id == pseudonyms.c.person_id)
        .where(pseudonyms.c.domain == domain, pseudonyms.c.id > bindparam("after"))
        .order_by(pseudonyms.c.id)
        .limit(batch_size)
    )
    _STAGE.create(conn)
    done, after = 0, 0
    while True:
        rows = conn.execute(page, {"after": after}).all()
        if not rows:
            break
        values = pseudonymiser.pseudonyms(domain, [bytes(r.person_token) for r in rows], target)
        _stage(conn, [(r.id, v) for r, v in zip(rows, values, strict=True)])
        done += len(rows)
        after = rows[-1].id
        if progress:
            progress(done, total)
    conn.execute(
        text(
            "UPDATE pseudonyms SET value = s.value, key_version = :version "
            "FROM rotation_values AS s WHERE pseudonyms.id = s.id"
        ),
        {"version": target},
    )
    _STAGE.drop(conn)
    return done


def _stage(conn: Connection, rows: list[tuple[int, str]]) -> None:
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        with (
            raw.cursor() as cursor,  # type: ignore[union-attr]
            cursor.copy("COPY rotation_values (id, value) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
    else:
        conn.execute(insert(_STAGE), [{"id": i, "value": v} for i, v in rows])


def _repoint_cases(conn: Connection, target: int) -> int:
    """New pid, key version and feed position for every case, in one statement."""
    count = conn.execute(select(func.count()).select_from(cases)).scalar_one()
    if count == 0:
        return 0
    first = allocate_feed_seqs(conn, count)
    # New positions are all above every old one, so the unique index never sees a clash.
    updated = conn.execute(
        text(
            "UPDATE cases SET pid = r.value, key_version = :version, feed_seq = r.seq "
            "FROM (SELECT c.id AS id, p.value AS value, "
            "      :first - 1 + row_number() OVER (ORDER BY c.id) AS seq "
            "      FROM cases c JOIN pseudonyms p "
            "      ON p.person_id = c.person_id AND p.domain = :domain) AS r "
            "WHERE cases.id = r.id"
        ),
        {"version": target, "first": first, "domain": NATIONAL},
    ).rowcount
    if updated != count:
        raise RotationError(
            f"{count - updated} cases have no national pseudonym; rotation rolled back"
        )
    return int(updated)


def _check_complete(conn: Connection, domain: str, target: int) -> None:
    left = conn.execute(
        select(func.count())
        .select_from(pseudonyms)
        .where(pseudonyms.c.domain == domain, pseudonyms.c.key_version != target)
    ).scalar_one()
    if domain == NATIONAL:
        left += conn.execute(
            select(func.count()).select_from(cases).where(cases.c.key_version != target)
        ).scalar_one()
    if left:
        raise RotationError(f"{left} rows still at the old key version; rotation rolled back")
