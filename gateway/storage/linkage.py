"""Linkage tables: the keyed linkage features of each source record, and the review list.

Nothing here holds a name or an identifier (BRIEF §5): ``features`` is the binary form of
:class:`gateway.privacy.features.LinkageFeatures` — keyed hashes and keyed Bloom filters
only — and a review names two persons by id with their comparison scores.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.storage.base import Base, BigId


class LinkageBlockRow(Base):
    """One blocking key of a person: how the sync engine finds a record's candidates.

    ``block`` is one of the keyed 8-byte blocking keys (as a signed integer) of
    :class:`~gateway.privacy.features.LinkageFeatures` (phonetic name + birth year, birth date
    + sex, fiscal-code roots...) and ``coded`` whether the person holds a fiscal code (a record
    holding one is only compared with persons without one). A person's rows are the union of
    its records' keys; merges re-point them. Candidates are read per batch by key, so the
    linker's memory does not grow with the number of persons (issue 7). No foreign key: the
    rows are written with every record, and ``linkage_features`` is their source of truth.
    """

    __tablename__ = "linkage_blocks"

    block: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    person_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    coded: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = ({"sqlite_with_rowid": False},)


class LinkageFeaturesRow(Base):
    """The keyed linkage features of one source record, and the person it was linked to.

    ``record_key`` is the keyed hash of the source record id (as in ``source_records``). The
    linker's in-memory index is rebuilt from these rows in ``id`` order.
    """

    __tablename__ = "linkage_features"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    city: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(60))
    record_key: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    version: Mapped[int] = mapped_column(SmallInteger)
    features: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("city", "source", "record_key"),)


class LinkageReviewRow(Base):
    """A possible match kept apart for a person to look at: two person ids and the scores.

    ``levels`` maps each compared field to its agreement level (numbers only). ``status`` is
    ``open``, ``merged`` or ``kept_apart``.
    """

    __tablename__ = "linkage_reviews"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    candidate_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    score: Mapped[float] = mapped_column(Float)
    levels: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("person_id", "candidate_id"),
        Index("ix_linkage_reviews_status", "status", "id"),
    )
