"""Core tables: cases, their services and referrals, source records, quarantine, cursors,
audit entries and OAuth2 clients.

Nothing here holds a name, an identifier or free text (BRIEF §5): persons appear only as
pseudonyms, source record ids only as keyed hashes, quarantined payloads only encrypted.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.storage.base import Base, BigId


class CaseRow(Base):
    """A pseudonymised case: one person taken in charge in one city."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(40), unique=True)
    city: Mapped[str] = mapped_column(String(40))
    person_id: Mapped[int] = mapped_column(BigId, index=True)
    pid: Mapped[str] = mapped_column(String(80), index=True)
    key_version: Mapped[int] = mapped_column(Integer)
    sex: Mapped[str | None] = mapped_column(String(1))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    citizenship: Mapped[str | None] = mapped_column(String(3))
    country_of_birth: Mapped[str | None] = mapped_column(String(3))
    years_in_italy: Mapped[str] = mapped_column(String(10), default="unknown")
    permit_category: Mapped[str | None] = mapped_column(String(40))
    resident_in_city: Mapped[bool | None] = mapped_column(Boolean)
    opened_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str | None] = mapped_column(String(40))
    intake_channel: Mapped[str | None] = mapped_column(String(40))
    vulnerabilities: Mapped[list[str]] = mapped_column(JSON, default=list)
    provenance: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Position in the change feed: strictly increasing in commit order (see gateway.sync).
    feed_seq: Mapped[int] = mapped_column(BigId, unique=True)

    __table_args__ = (UniqueConstraint("city", "person_id"),)


class CaseServiceRow(Base):
    """A service delivered, contributed to a case by one source record."""

    __tablename__ = "case_services"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_pk: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    source_record_pk: Mapped[int] = mapped_column(
        ForeignKey("source_records.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(40))
    start: Mapped[date | None] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str | None] = mapped_column(String(40))


class CaseReferralRow(Base):
    """A referral to a care service, contributed to a case by one source record."""

    __tablename__ = "case_referrals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_pk: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    source_record_pk: Mapped[int] = mapped_column(
        ForeignKey("source_records.id", ondelete="CASCADE"), index=True
    )
    target: Mapped[str] = mapped_column(String(40))
    date: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(40))


class SourceRecordRow(Base):
    """One record of a source system, by keyed hash of its id, with its content hash.

    The pair (source key, content hash) makes upserts idempotent: the same record again is a
    no-op, a changed one updates its case.
    """

    __tablename__ = "source_records"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    city: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(60))
    record_key: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))
    case_pk: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )
    source_updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # What this record contributes to its case, generalised (gateway.sync.cases): no name,
    # identifier or date of birth, so a changed or deleted record can recompute its case.
    contribution: Mapped[dict[str, object] | None] = mapped_column(JSON)

    __table_args__ = (UniqueConstraint("city", "source", "record_key"),)


class QuarantineRow(Base):
    """A record that failed mapping or validation: reason and field path, payload encrypted."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    city: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(60))
    position: Mapped[str | None] = mapped_column(String(80))
    record_key: Mapped[str | None] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(20))  # read | mapping | validation
    field: Mapped[str | None] = mapped_column(String(200))
    rule: Mapped[str | None] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(String(400))
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)  # AES-GCM nonce + ciphertext
    key_id: Mapped[str | None] = mapped_column(String(40))
    # Keyed hash of the payload: the same bad record sent again is not quarantined twice.
    payload_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    replayed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_quarantine_city_source", "city", "source"),)


class CursorRow(Base):
    """A source's resume point, committed in the same transaction as the data it covers."""

    __tablename__ = "cursors"

    city: Mapped[str] = mapped_column(String(40), primary_key=True)
    source: Mapped[str] = mapped_column(String(60), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditEntryRow(Base):
    """Who read or wrote case data, when, how much — never the data. Hash-chained."""

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(120))
    city: Mapped[str | None] = mapped_column(String(40))
    count: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class OAuthClientRow(Base):
    """A registered OAuth2 client: a city's system or the national platform."""

    __tablename__ = "oauth_clients"

    client_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    secret_hash: Mapped[str | None] = mapped_column(String(200))
    scopes: Mapped[str] = mapped_column(String(400))
    city: Mapped[str | None] = mapped_column(String(40))
    jwks: Mapped[dict[str, list[dict[str, str]]] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class FeedStateRow(Base):
    """One row holding the last change-feed sequence number handed out.

    Writers take the next numbers with ``UPDATE ... RETURNING`` which row-locks until their
    commit, so feed positions become visible in increasing order.
    """

    __tablename__ = "feed_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigId, default=0)
