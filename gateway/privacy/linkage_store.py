"""Linkage at rest: stored features, the rebuilt in-memory index, the review list.

Every function takes an open connection inside the caller's transaction (the sync engine runs
one per batch). The linker itself lives in memory (:class:`gateway.privacy.linkage.Linker`):

- :func:`save_features` stores each linked record's keyed features with its person;
- :func:`load_linker` rebuilds a linker from them (at start-up), :func:`refresh` adds the rows
  another process wrote since (two gateways on one PostgreSQL), both following merges;
- :func:`apply_merges` re-points features of absorbed persons (the identity store merges the
  persons themselves: :func:`gateway.privacy.store.merge_persons`);
- :func:`save_reviews`, :func:`open_reviews`, :func:`resolve_review` keep the review list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, select, update
from sqlalchemy.dialects import postgresql, sqlite

from gateway.privacy.features import FEATURES_VERSION, LinkageFeatures
from gateway.privacy.linkage import Linker, Merge, Review
from gateway.storage.identity import PersonRow
from gateway.storage.linkage import LinkageFeaturesRow, LinkageReviewRow

__all__ = [
    "LinkedRecord",
    "StoredReview",
    "apply_merges",
    "load_linker",
    "open_reviews",
    "refresh",
    "resolve_review",
    "save_features",
    "save_reviews",
    "survivors_of",
]

features_table = cast(Table, LinkageFeaturesRow.__table__)
reviews_table = cast(Table, LinkageReviewRow.__table__)
persons_table = cast(Table, PersonRow.__table__)
REVIEW_STATUSES = ("open", "merged", "kept_apart")
_PAGE = 5000


@dataclass(frozen=True, slots=True)
class LinkedRecord:
    """One source record (by keyed record key) and the person its features were linked to."""

    city: str
    source: str
    record_key: str
    person_id: int
    features: LinkageFeatures = field(repr=False)


@dataclass(frozen=True, slots=True)
class StoredReview:
    id: int
    person_id: int
    candidate_id: int
    score: float
    levels: dict[str, int]
    status: str


def _insert(conn: Connection, table: Table) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def save_features(
    conn: Connection, records: Sequence[LinkedRecord], *, now: datetime | None = None
) -> None:
    """Store (or replace, for a record sent again) the features of linked records."""
    if not records:
        return
    stamp = _now(now)
    rows = {
        (r.city, r.source, r.record_key): {
            "city": r.city,
            "source": r.source,
            "record_key": r.record_key,
            "person_id": r.person_id,
            "version": FEATURES_VERSION,
            "features": r.features.to_bytes(),
            "updated_at": stamp,
        }
        for r in records
    }
    statement = _insert(conn, features_table)
    excluded = statement.excluded
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["city", "source", "record_key"],
            set_={
                "person_id": excluded.person_id,
                "version": excluded.version,
                "features": excluded.features,
                "updated_at": excluded.updated_at,
            },
        ),
        list(rows.values()),
    )


def apply_merges(conn: Connection, merges: Iterable[Merge]) -> None:
    """Re-point the features of absorbed persons at their survivors; close their reviews."""
    reviews = reviews_table.c
    for merge in merges:
        conn.execute(
            update(features_table)
            .where(features_table.c.person_id == merge.absorbed)
            .values(person_id=merge.into)
        )
        pair = {merge.absorbed, merge.into}
        conn.execute(
            update(reviews_table)
            .where(
                reviews.status == "open",
                reviews.person_id.in_(pair),
                reviews.candidate_id.in_(pair),
            )
            .values(status="merged", resolved_at=datetime.now(UTC))
        )


def survivors_of(conn: Connection) -> dict[int, int]:
    """Each merged person's survivor, following chains of merges."""
    query = select(persons_table.c.id, persons_table.c.merged_into).where(
        persons_table.c.merged_into.is_not(None)
    )
    merged = {row.id: row.merged_into for row in conn.execute(query)}
    survivors: dict[int, int] = {}
    for person_id in merged:
        target = person_id
        seen = {target}
        while target in merged and merged[target] not in seen:
            target = merged[target]
            seen.add(target)
        survivors[person_id] = target
    return survivors


def refresh(conn: Connection, linker: Linker, *, after_id: int = 0) -> int:
    """Add to ``linker`` the stored features with ``id > after_id``; return the last id."""
    survivors: dict[int, int] | None = None  # read once there is something to add
    last = after_id
    while True:
        page = conn.execute(
            select(
                features_table.c.id,
                features_table.c.city,
                features_table.c.source,
                features_table.c.person_id,
                features_table.c.features,
            )
            .where(features_table.c.id > last)
            .order_by(features_table.c.id)
            .limit(_PAGE)
        ).all()
        if not page:
            return last
        if survivors is None:
            survivors = survivors_of(conn)
        for row in page:
            features = LinkageFeatures.from_bytes(
                bytes(row.features), city=row.city, source=row.source
            )
            linker.add(survivors.get(row.person_id, row.person_id), features)
        last = int(page[-1].id)
        if len(page) < _PAGE:
            return last


def load_linker(conn: Connection, **options: Any) -> tuple[Linker, int]:
    """A linker holding every stored record (``options`` go to :class:`Linker`), and the id
    of the last row read (for :func:`refresh`)."""
    linker = Linker(**options)
    return linker, refresh(conn, linker)


def save_reviews(
    conn: Connection, reviews: Iterable[Review], *, now: datetime | None = None
) -> None:
    """Add possible matches to the review list (a pair seen again keeps its latest score)."""
    stamp = _now(now)
    rows = {
        (r.person_id, r.candidate_id): {
            "person_id": r.person_id,
            "candidate_id": r.candidate_id,
            "score": r.score,
            "levels": dict(r.levels),
            "status": "open",
            "created_at": stamp,
            "resolved_at": None,
        }
        for r in reviews
        if r.person_id != r.candidate_id
    }
    if not rows:
        return
    statement = _insert(conn, reviews_table)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["person_id", "candidate_id"],
            set_={"score": statement.excluded.score, "levels": statement.excluded.levels},
        ),
        list(rows.values()),
    )


def open_reviews(conn: Connection, *, limit: int = 100, after_id: int = 0) -> list[StoredReview]:
    """Open reviews in id order (page with ``after_id``)."""
    query = (
        select(reviews_table)
        .where(reviews_table.c.status == "open", reviews_table.c.id > after_id)
        .order_by(reviews_table.c.id)
        .limit(limit)
    )
    return [
        StoredReview(
            row.id, row.person_id, row.candidate_id, row.score, dict(row.levels), row.status
        )
        for row in conn.execute(query)
    ]


def resolve_review(
    conn: Connection, review_id: int, status: str, *, now: datetime | None = None
) -> None:
    """Close a review as ``merged`` (the caller merges the persons) or ``kept_apart``."""
    if status not in REVIEW_STATUSES[1:]:
        raise ValueError("a review is resolved as 'merged' or 'kept_apart'")
    conn.execute(
        update(reviews_table)
        .where(reviews_table.c.id == review_id)
        .values(status=status, resolved_at=_now(now))
    )
