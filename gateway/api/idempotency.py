"""``Idempotency-Key`` for pushes: a retried request gets the first response, unapplied.

The key is scoped to the client. The first response to (client, key) is stored with a
fingerprint of the request (method, path, media type, body); the same key with the same
request returns the stored response, with a different request it is refused (422). The
record is written in the same transaction as the push itself, so a push is applied and
remembered together or not at all. Records expire after ``LGNET_IDEMPOTENCY_TTL_HOURS``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, delete, insert, select

from gateway.api.problems import FixTheRequest
from gateway.storage.auth import IdempotencyKeyRow

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    media_type: str
    body: bytes


def check_key(key: str | None) -> str | None:
    """The header's value, if given and well-formed (1-255 visible ASCII characters)."""
    if key is None:
        return None
    if not _KEY.match(key):
        raise FixTheRequest(f"{HEADER} must be 1-255 visible ASCII characters")
    return key


def fingerprint(method: str, path: str, media_type: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), media_type.encode()):
        digest.update(part + b"\x00")
    digest.update(body)
    return digest.hexdigest()


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def lookup(
    connection: Connection, actor: str, key: str, ttl: timedelta
) -> tuple[str, StoredResponse] | None:
    """The stored (fingerprint, response) of a live key, if any."""
    row = connection.execute(
        select(
            IdempotencyKeyRow.request_hash,
            IdempotencyKeyRow.status_code,
            IdempotencyKeyRow.media_type,
            IdempotencyKeyRow.body,
            IdempotencyKeyRow.created_at,
        ).where(IdempotencyKeyRow.actor == actor, IdempotencyKeyRow.key_hash == _key_hash(key))
    ).first()
    if row is None:
        return None
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    if created + ttl < datetime.now(UTC):
        return None
    return row.request_hash, StoredResponse(row.status_code, row.media_type, row.body)


def remember(
    connection: Connection,
    *,
    actor: str,
    key: str,
    request_hash: str,
    response: StoredResponse,
    ttl: timedelta,
) -> None:
    """Store the response in the caller's transaction (an expired record is replaced).

    A concurrent request with the same key makes the insert fail with ``IntegrityError``:
    the caller rolls back and answers with what the other request stored.
    """
    now = datetime.now(UTC)
    key_hash = _key_hash(key)
    connection.execute(delete(IdempotencyKeyRow).where(IdempotencyKeyRow.created_at < now - ttl))
    connection.execute(
        insert(IdempotencyKeyRow),
        [
            {
                "actor": actor,
                "key_hash": key_hash,
                "request_hash": request_hash,
                "status_code": response.status_code,
                "media_type": response.media_type,
                "body": response.body,
                "created_at": now,
            }
        ],
    )
