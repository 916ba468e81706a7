"""Identity store: persons, their inner tokens and pseudonyms, in bulk (BRIEF §5).

Every function takes an open connection inside the caller's transaction (the sync engine
runs one transaction per batch) and works on whole batches: one ``SELECT ... IN`` per chunk,
one ``conn.execute(insert(table), rows)`` per table.

Locking: :func:`domain_versions` (called by :func:`ensure_pseudonyms`) takes a shared lock on
the domain's ``key_versions`` row on PostgreSQL; a rotation holds the exclusive one. So a
writer that read a pseudonym cannot commit it after a rotation has replaced it. Writers
must therefore get pseudonyms through :func:`ensure_pseudonyms` (or :func:`domain_versions`
first) in the transaction that writes them. On SQLite the database lock serialises writers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TypeVar, cast

from sqlalchemy import Connection, Table, case, delete, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from gateway.privacy.keys import NATIONAL, check_domain
from gateway.privacy.pseudonyms import Pseudonymiser, new_person_tokens
from gateway.storage.identity import IdentityTokenRow, KeyVersionRow, PersonRow, PseudonymRow
from gateway.storage.tables import CaseReferralRow, CaseRow, CaseServiceRow, SourceRecordRow

CHUNK = 2000  # ids per IN list: well under SQLite's and PostgreSQL's parameter limits
persons = cast(Table, PersonRow.__table__)
tokens_table = cast(Table, IdentityTokenRow.__table__)
pseudonyms = cast(Table, PseudonymRow.__table__)
key_versions = cast(Table, KeyVersionRow.__table__)
cases = cast(Table, CaseRow.__table__)
case_services = cast(Table, CaseServiceRow.__table__)
case_referrals = cast(Table, CaseReferralRow.__table__)
source_records = cast(Table, SourceRecordRow.__table__)

T = TypeVar("T")


class IdentityStoreError(RuntimeError):
    """The identity store was asked something inconsistent (a bug in the caller)."""


@dataclass(frozen=True, slots=True)
class NewPerson:
    """A person just created: its id and random token (the token is never shown)."""

    id: int
    person_token: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class TokenLink:
    """An inner token to attach to a person (``valid_until`` for STP/ENI codes)."""

    token: bytes = field(repr=False)
    kind: str
    person_id: int
    valid_until: date | None = None


@dataclass(frozen=True, slots=True)
class MergeResult:
    survivor: int
    absorbed: int
    moved_cases: int
    folded_case_ids: list[str]  # cases of the absorbed person folded into the survivor's


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _upsert(conn: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """The dialect's ``INSERT`` with ``ON CONFLICT`` support."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise IdentityStoreError(f"unsupported database {dialect!r}")


# --- key versions --------------------------------------------------------------------------


def domain_versions(
    conn: Connection, domains: Iterable[str], *, default_version: int
) -> dict[str, int]:
    """Current key version of each domain, creating missing domains at ``default_version``.

    Takes a shared row lock (PostgreSQL) so that a concurrent rotation waits for this
    transaction, or this transaction for the rotation.
    """
    wanted = sorted({check_domain(d) for d in domains})
    if not wanted:
        return {}
    query = (
        select(key_versions.c.domain, key_versions.c.current_version)
        .where(key_versions.c.domain.in_(wanted))
        .with_for_update(read=True)
    )
    found = {row.domain: row.current_version for row in conn.execute(query)}
    missing = [d for d in wanted if d not in found]
    if missing:  # first use of a domain: a concurrent writer may be creating it too
        conn.execute(
            _upsert(conn, key_versions).on_conflict_do_nothing(),
            [
                {"domain": d, "current_version": default_version, "rotated_at": None}
                for d in missing
            ],
        )
        found = {row.domain: row.current_version for row in conn.execute(query)}
    return found


# --- persons and tokens --------------------------------------------------------------------


def find_persons(
    conn: Connection, tokens: Sequence[bytes], *, valid_on: date | None = None
) -> dict[bytes, int]:
    """The person of each known inner token (unknown tokens are absent from the result).

    With ``valid_on``, time-limited tokens whose ``valid_until`` is before it are ignored.
    Tokens of merged persons are re-pointed at merge time, so ids returned are survivors.
    """
    found: dict[bytes, int] = {}
    unique = list(dict.fromkeys(tokens))
    for chunk in _chunks(unique):
        query = select(tokens_table.c.token, tokens_table.c.person_id).where(
            tokens_table.c.token.in_(chunk)
        )
        if valid_on is not None:
            query = query.where(
                (tokens_table.c.valid_until.is_(None)) | (tokens_table.c.valid_until >= valid_on)
            )
        for row in conn.execute(query):
            found[bytes(row.token)] = row.person_id
    return found


def create_persons(conn: Connection, count: int, *, now: datetime | None = None) -> list[NewPerson]:
    """Create ``count`` persons with fresh random tokens; return them in creation order."""
    if count <= 0:
        return []
    created = _now(now)
    tokens = new_person_tokens(count)
    # RETURNING in bulk comes back in no guaranteed order (asking for input order makes
    # SQLAlchemy insert row by row on SQLite): the unique random token pairs rows with ids.
    result = conn.execute(
        insert(persons).returning(persons.c.id, persons.c.person_token),
        [{"person_token": token, "created_at": created} for token in tokens],
    )
    ids = {bytes(row.person_token): row.id for row in result}
    return [NewPerson(ids[token], token) for token in tokens]


def attach_tokens(conn: Connection, links: Iterable[TokenLink]) -> None:
    """Attach inner tokens to persons.

    A token already stored keeps its person (join two persons with :func:`merge_persons`);
    its ``valid_until`` moves to the later of the two dates (an STP/ENI renewal).
    """
    rows = [
        {"token": x.token, "kind": x.kind, "person_id": x.person_id, "valid_until": x.valid_until}
        for x in links
    ]
    if not rows:
        return
    statement = _upsert(conn, tokens_table)
    stored, offered = tokens_table.c.valid_until, statement.excluded.valid_until
    later = case(
        (offered.is_(None), stored),
        (stored.is_(None), offered),
        (offered > stored, offered),
        else_=stored,
    )
    conn.execute(
        statement.on_conflict_do_update(index_elements=["token"], set_={"valid_until": later}),
        rows,
    )


def person_tokens(conn: Connection, person_ids: Sequence[int]) -> dict[int, bytes]:
    """The random token of each person (the input of their pseudonyms)."""
    found: dict[int, bytes] = {}
    for chunk in _chunks(list(dict.fromkeys(person_ids))):
        query = select(persons.c.id, persons.c.person_token).where(persons.c.id.in_(chunk))
        found.update((row.id, bytes(row.person_token)) for row in conn.execute(query))
    return found


# --- pseudonyms ----------------------------------------------------------------------------


def pseudonyms_of(conn: Connection, person_ids: Sequence[int], domain: str) -> dict[int, str]:
    """Stored pseudonyms of persons in ``domain`` (persons without one are absent)."""
    found: dict[int, str] = {}
    unique = list(dict.fromkeys(person_ids))
    if conn.dialect.name == "postgresql" and unique:
        # One statement, an index probe per person: an IN list is planned from statistics,
        # and before the table's first ANALYZE the planner scans every pseudonym of the
        # domain against the list (a cost that grows with the table).
        probe = text(
            "SELECT p.person_id, p.value FROM unnest(CAST(:ids AS BIGINT[])) AS k(id) "
            "CROSS JOIN LATERAL (SELECT person_id, value FROM pseudonyms AS r "
            "WHERE r.person_id = k.id AND r.domain = :domain LIMIT 1) AS p"
        )
        rows = conn.execute(probe, {"ids": unique, "domain": domain})
        found.update((person_id, value) for person_id, value in rows)
        return found
    for chunk in _chunks(unique):
        query = select(pseudonyms.c.person_id, pseudonyms.c.value).where(
            pseudonyms.c.domain == domain, pseudonyms.c.person_id.in_(chunk)
        )
        found.update((row.person_id, row.value) for row in conn.execute(query))
    return found


def ensure_pseudonyms(
    conn: Connection, pseudonymiser: Pseudonymiser, person_ids: Sequence[int], domain: str
) -> tuple[dict[int, str], int]:
    """Each person's pseudonym in ``domain`` (created when missing) and the key version.

    Returns ``({person_id: pseudonym}, version)``; the version is what ``cases.key_version``
    takes for the national domain.
    """
    version = domain_versions(conn, [domain], default_version=pseudonymiser.current_version)[domain]
    found = pseudonyms_of(conn, person_ids, domain)
    missing = [p for p in dict.fromkeys(person_ids) if p not in found]
    if missing:
        person_token = person_tokens(conn, missing)
        if len(person_token) != len(missing):
            raise IdentityStoreError("ensure_pseudonyms: unknown person id")
        values = pseudonymiser.pseudonyms(domain, [person_token[p] for p in missing], version)
        conn.execute(
            insert(pseudonyms),
            [
                {"person_id": p, "domain": domain, "key_version": version, "value": v}
                for p, v in zip(missing, values, strict=True)
            ],
        )
        found.update(zip(missing, values, strict=True))
    return found, version


# --- change feed ---------------------------------------------------------------------------


def allocate_feed_seqs(conn: Connection, count: int) -> int:
    """Take ``count`` change-feed positions; return the first (see ``FeedStateRow``)."""
    last = conn.execute(
        text("UPDATE feed_state SET last_seq = last_seq + :n WHERE id = 1 RETURNING last_seq"),
        {"n": count},
    ).scalar_one()
    return int(last) - count + 1


# --- merging -------------------------------------------------------------------------------


def merge_persons(
    conn: Connection,
    pseudonymiser: Pseudonymiser,
    survivor: int,
    absorbed: int,
    *,
    now: datetime | None = None,
) -> MergeResult:
    """Make ``absorbed`` one with ``survivor``, who keeps their pseudonyms (and so ``pid``).

    The absorbed person's tokens move to the survivor, their pseudonyms are dropped (the
    survivor gets one in each domain that only the absorbed person had), and their cases
    move to the survivor with the survivor's ``pid`` — or, where the survivor already has a
    case in that city, are folded into it (services, referrals and source records re-pointed,
    the earlier opening date kept, provenance joined). Changed cases get new feed positions.
    """
    if survivor == absorbed:
        raise IdentityStoreError("cannot merge a person with itself")
    state = {
        row.id: row.merged_into
        for row in conn.execute(
            select(persons.c.id, persons.c.merged_into).where(
                persons.c.id.in_([survivor, absorbed])
            )
        )
    }
    if len(state) != 2 or state[survivor] is not None or state[absorbed] is not None:
        raise IdentityStoreError("merge_persons: both persons must exist and be unmerged")

    conn.execute(
        update(tokens_table).where(tokens_table.c.person_id == absorbed).values(person_id=survivor)
    )
    domains = list(
        conn.execute(select(pseudonyms.c.domain).where(pseudonyms.c.person_id == absorbed))
        .scalars()
        .all()
    )
    conn.execute(delete(pseudonyms).where(pseudonyms.c.person_id == absorbed))
    for domain in sorted(set(domains) | {NATIONAL}):
        ensure_pseudonyms(conn, pseudonymiser, [survivor], domain)
    conn.execute(
        update(persons)
        .where((persons.c.id == absorbed) | (persons.c.merged_into == absorbed))
        .values(merged_into=survivor)
    )
    moved, folded = _merge_cases(conn, pseudonymiser, survivor, absorbed, _now(now))
    return MergeResult(survivor, absorbed, moved, folded)


def _merge_cases(
    conn: Connection, pseudonymiser: Pseudonymiser, survivor: int, absorbed: int, now: datetime
) -> tuple[int, list[str]]:
    pids, version = ensure_pseudonyms(conn, pseudonymiser, [survivor], NATIONAL)
    rows = conn.execute(
        select(cases.c.id, cases.c.case_id, cases.c.city, cases.c.person_id).where(
            cases.c.person_id.in_([survivor, absorbed])
        )
    ).all()
    kept = {row.city: row.id for row in rows if row.person_id == survivor}
    theirs = [row for row in rows if row.person_id == absorbed]
    if not theirs:
        return 0, []
    touched: list[int] = []
    folded: list[str] = []
    moved = 0
    for row in theirs:
        target = kept.get(row.city)
        if target is None:
            conn.execute(
                update(cases)
                .where(cases.c.id == row.id)
                .values(person_id=survivor, pid=pids[survivor], key_version=version)
            )
            touched.append(row.id)
            moved += 1
            continue
        _fold_case(conn, source=row.id, target=target)
        folded.append(row.case_id)
        touched.append(target)
    first = allocate_feed_seqs(conn, len(touched))
    for offset, case_pk in enumerate(sorted(set(touched))):
        conn.execute(
            update(cases)
            .where(cases.c.id == case_pk)
            .values(feed_seq=first + offset, updated_at=now)
        )
    return moved, folded


def _fold_case(conn: Connection, *, source: int, target: int) -> None:
    for table in (case_services, case_referrals, source_records):
        conn.execute(update(table).where(table.c.case_pk == source).values(case_pk=target))
    both = {
        row.id: row
        for row in conn.execute(
            select(cases.c.id, cases.c.opened_on, cases.c.provenance).where(
                cases.c.id.in_([source, target])
            )
        )
    }
    dates = [d for d in (both[source].opened_on, both[target].opened_on) if d is not None]
    provenance = list(both[target].provenance or [])
    provenance += [p for p in both[source].provenance or [] if p not in provenance]
    conn.execute(delete(cases).where(cases.c.id == source))
    conn.execute(
        update(cases)
        .where(cases.c.id == target)
        .values(opened_on=min(dates) if dates else None, provenance=provenance)
    )


def count_persons(conn: Connection) -> int:
    """Persons not merged into another."""
    query = select(func.count()).select_from(persons).where(persons.c.merged_into.is_(None))
    return int(conn.execute(query).scalar_one())
