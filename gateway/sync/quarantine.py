"""Quarantine: records that failed reading, mapping or validation, kept encrypted for replay.

A quarantined record keeps what an operator needs to fix the cause — the stage, the field path,
the rule and a reason (never a value) — and its raw payload, encrypted with AES-GCM (NIST SP
800-38D) under ``LGNET_QUARANTINE_KEY``: the payload holds names and identifiers, so it is never
stored in clear. Each payload is bound to its city and source as associated data, so a
ciphertext moved to another row does not decrypt. Rows are purged after
``LGNET_QUARANTINE_RETENTION_DAYS``; a replayed row loses its payload at once.

``payload_hash`` is a keyed hash of the payload: the same bad record sent twice (a retried push,
a re-read file) is quarantined once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Engine, Table, delete, func, select

from gateway.settings import ENV_PREFIX, Settings, SettingsError
from gateway.storage.tables import QuarantineRow

NONCE_BYTES = 12
PAYLOAD_VERSION = 1
quarantine = cast(Table, QuarantineRow.__table__)


class QuarantineKeyError(SettingsError):
    """The quarantine key is missing or malformed: set ``LGNET_QUARANTINE_KEY``."""


class PayloadUnreadable(Exception):
    """A payload does not decrypt under the current key (another key, or tampered)."""


class QuarantineCipher:
    """AES-256-GCM over quarantined payloads; ``key_id`` names the key without revealing it."""

    __slots__ = ("_aead", "_hash_key", "key_id")

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise QuarantineKeyError(f"{ENV_PREFIX}QUARANTINE_KEY must be 32 bytes, base64")
        self._aead = AESGCM(key)
        # Separate keys for encryption and for the duplicate-detection hash.
        self._hash_key = hashlib.sha256(b"lgnet-quarantine-hash\x1f" + key).digest()
        self.key_id = "q-" + hashlib.sha256(b"lgnet-quarantine-id\x1f" + key).hexdigest()[:12]

    def __repr__(self) -> str:
        return f"QuarantineCipher(key_id={self.key_id!r})"

    @classmethod
    def from_settings(cls, settings: Settings) -> QuarantineCipher:
        text = settings.quarantine_key.get_secret_value()
        try:
            key = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise QuarantineKeyError(
                f"{ENV_PREFIX}QUARANTINE_KEY must be base64 (32 random bytes)"
            ) from None
        return cls(key)

    def seal(self, payload: bytes, *, city: str, source: str) -> bytes:
        """``nonce || ciphertext+tag`` of ``payload``, bound to the city and source."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, payload, _aad(city, source))

    def open(self, blob: bytes, *, city: str, source: str) -> bytes:
        """The payload sealed by :meth:`seal`; raise :class:`PayloadUnreadable` otherwise."""
        try:
            return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], _aad(city, source))
        except (InvalidTag, ValueError):
            raise PayloadUnreadable("the payload does not decrypt under the current key") from None

    def payload_hash(self, payload: bytes, *, city: str, source: str) -> str:
        return hmac.digest(self._hash_key, _aad(city, source) + payload, "sha256").hex()


def _aad(city: str, source: str) -> bytes:
    return f"lgnet-quarantine\x1f{city}\x1f{source}\x1f".encode()


@dataclass(frozen=True, slots=True)
class Payload:
    """What replay needs: the record as it arrived, and whether it still needs mapping.

    ``kind`` is ``raw`` (an adapter's record: map it again with the source's mapping) or
    ``intake`` (already in the intake schema: a JSON push).
    """

    kind: str
    data: Mapping[str, Any]
    record_id: str | None = None
    position: str | None = None
    deleted: bool = False

    def to_bytes(self) -> bytes:
        document = {
            "v": PAYLOAD_VERSION,
            "kind": self.kind,
            "data": self.data,
            "record_id": self.record_id,
            "position": self.position,
            "deleted": self.deleted,
        }
        # Adapters may hand over dates, decimals or bytes: keep them as text.
        return orjson.dumps(document, default=str, option=orjson.OPT_NON_STR_KEYS)

    @classmethod
    def from_bytes(cls, blob: bytes) -> Payload:
        document = orjson.loads(blob)
        return cls(
            kind=document["kind"],
            data=document["data"],
            record_id=document.get("record_id"),
            position=document.get("position"),
            deleted=bool(document.get("deleted")),
        )


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a record was quarantined: stage, field path and rule — never a value."""

    stage: str  # read | mapping | validation
    field: str | None
    rule: str
    reason: str


def quarantine_row(
    cipher: QuarantineCipher,
    *,
    city: str,
    source: str,
    payload: Payload,
    rejection: Rejection,
    record_key: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The ``quarantine`` row of one rejected record (payload sealed)."""
    clear = payload.to_bytes()
    return {
        "city": city,
        "source": source,
        "position": (payload.position or "")[:80] or None,
        "record_key": record_key,
        "stage": rejection.stage,
        "field": (rejection.field or "")[:200] or None,
        "rule": rejection.rule[:80],
        "reason": rejection.reason[:400],
        "payload": cipher.seal(clear, city=city, source=source),
        "payload_hash": cipher.payload_hash(clear, city=city, source=source),
        "key_id": cipher.key_id,
        "created_at": now,
        "replayed_at": None,
    }


def already_quarantined(connection: Connection, hashes: list[str]) -> set[str]:
    """The payload hashes among ``hashes`` that wait in quarantine already (not replayed)."""
    found: set[str] = set()
    for start in range(0, len(hashes), 1000):
        chunk = hashes[start : start + 1000]
        found.update(
            connection.execute(
                select(quarantine.c.payload_hash).where(
                    quarantine.c.payload_hash.in_(chunk), quarantine.c.replayed_at.is_(None)
                )
            ).scalars()
        )
    return found


def purge(bind: Engine | Connection, settings: Settings, *, now: datetime | None = None) -> int:
    """Delete quarantined records older than the retention period; return how many."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=settings.quarantine_retention_days)
    statement = delete(quarantine).where(quarantine.c.created_at < cutoff)
    if isinstance(bind, Engine):
        with bind.begin() as connection:
            return connection.execute(statement).rowcount
    return bind.execute(statement).rowcount


@dataclass(frozen=True, slots=True)
class QuarantineGroup:
    """Quarantined records waiting for replay, counted by city, source, stage, field and rule."""

    city: str
    source: str
    stage: str
    field: str | None
    rule: str | None
    count: int
    oldest: datetime


def summary(
    bind: Engine | Connection, *, city: str | None = None, source: str | None = None
) -> list[QuarantineGroup]:
    """Waiting records grouped by cause, largest groups first."""
    q = quarantine.c
    statement = (
        select(q.city, q.source, q.stage, q.field, q.rule, func.count(), func.min(q.created_at))
        .where(q.replayed_at.is_(None))
        .group_by(q.city, q.source, q.stage, q.field, q.rule)
        .order_by(func.count().desc(), q.city, q.source)
    )
    if city:
        statement = statement.where(q.city == city)
    if source:
        statement = statement.where(q.source == source)
    if isinstance(bind, Engine):
        with bind.connect() as connection:
            rows = connection.execute(statement).all()
    else:
        rows = bind.execute(statement).all()
    return [QuarantineGroup(*row) for row in rows]
