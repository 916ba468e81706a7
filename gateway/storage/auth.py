"""Tables of the HTTP API and the OAuth2 server: signing keys, seen assertion ids, idempotency
keys, and the head of the audit chain.

None of them holds case data: idempotency keys keep the response already sent (per-record
outcomes, field paths and counts), and assertion ids and idempotency keys are kept as hashes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.storage.base import Base, BigId


class SigningKeyRow(Base):
    """A key the token endpoint signs with. The private key is PKCS#8, encrypted.

    The newest key that is not retired signs; a retired key stays published in the JWKS
    until the tokens it signed have expired (rotation with overlap).
    """

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(10))
    public_jwk: Mapped[dict[str, str]] = mapped_column(JSON)
    private_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SeenAssertionRow(Base):
    """A ``private_key_jwt`` assertion already used (RFC 7523 §3 item 7): replay protection.

    ``jti_hash`` is the SHA-256 of the assertion's ``jti``; rows are purged after ``expires_at``.
    """

    __tablename__ = "seen_assertions"

    client_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    jti_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class IdempotencyKeyRow(Base):
    """The response sent for a client's ``Idempotency-Key``, replayed for the same request."""

    __tablename__ = "idempotency_keys"

    actor: Mapped[str] = mapped_column(String(120), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(80))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class AuditHeadRow(Base):
    """One row: the last audit entry's sequence number and hash.

    Appenders lock it first (``UPDATE``), which orders the chain across processes and lets
    ``verify`` notice entries cut off the end of the log.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigId, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))
