"""Identity tables: persons, their inner tokens, their pseudonyms per domain, key versions.

Nothing here holds an identifier or a name (BRIEF §5): a person is a row with a random token,
identifiers appear only as inner tokens (keyed HMACs), and pseudonyms are derived from the
person token. See :mod:`gateway.privacy.pseudonyms` for the two tiers and
:mod:`gateway.privacy.rotation` for how a domain moves to a new key version.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.storage.base import Base, BigId


class PersonRow(Base):
    """A person as the gateway knows them: a random token, nothing else.

    ``person_token`` (32 random bytes) is the input of every outer pseudonym; when two persons
    turn out to be one, the absorbed one points at the survivor through ``merged_into``.
    """

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_token: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)


class IdentityTokenRow(Base):
    """An inner token (keyed HMAC of one normalised identifier) and the person it belongs to.

    ``valid_until`` is set for time-limited identifiers (STP/ENI codes): the latest day the
    code can be in force, extended on renewal.
    """

    __tablename__ = "identity_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    token: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    valid_until: Mapped[date | None] = mapped_column(Date)


class PseudonymRow(Base):
    """The outer pseudonym of a person in one domain, at the domain's current key version."""

    __tablename__ = "pseudonyms"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    domain: Mapped[str] = mapped_column(String(48))
    key_version: Mapped[int] = mapped_column(Integer)
    value: Mapped[str] = mapped_column(String(80))

    __table_args__ = (
        UniqueConstraint("domain", "value"),
        UniqueConstraint("person_id", "domain"),
        # Rotation pages through a domain in id order.
        Index("ix_pseudonyms_domain_id", "domain", "id"),
    )


class KeyVersionRow(Base):
    """The key version each pseudonym domain currently uses (``national``, ``city:<slug>``)."""

    __tablename__ = "key_versions"

    domain: Mapped[str] = mapped_column(String(48), primary_key=True)
    current_version: Mapped[int] = mapped_column(Integer)
    rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
