"""The registry of OAuth2 clients: the cities' systems and the national platform.

A client authenticates with a secret (``client_secret_basic`` / ``client_secret_post``) or a
key pair (``private_key_jwt``, RFC 7523, with its public JWKS registered). Secrets are
generated here, shown once, and stored only as a scrypt hash (RFC 7914).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from joserfc.jwk import KeySet
from sqlalchemy import Connection, Engine, insert, select

from gateway.auth.jwks import load_public_key_set
from gateway.auth.scopes import CITY_BOUND, SCOPES
from gateway.cities import is_city
from gateway.storage.tables import OAuthClientRow

# Secrets are 256-bit random, so no guessing attack exists: scrypt only keeps a leaked table
# from being used directly. A moderate cost (4 MiB, ~20-40 ms) keeps the token endpoint cheap.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**12, 8, 1
_NAME = re.compile(r"^[\w .,'()/-]{1,120}$")


class ClientRegistrationError(ValueError):
    """The registration is incomplete or inconsistent: fix the arguments (message says how)."""


@dataclass(frozen=True)
class RegisteredClient:
    client_id: str
    name: str
    scopes: frozenset[str]
    city: str | None
    jwks: dict[str, Any] | None
    has_secret: bool
    disabled: bool
    created_at: datetime

    def key_set(self) -> KeySet | None:
        return load_public_key_set(self.jwks, where="client jwks") if self.jwks else None


@dataclass(frozen=True)
class NewClient:
    """What registration returns: the secret is here and nowhere else, ever."""

    client_id: str
    secret: str | None


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        secret.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32
    )
    salt_text = base64.urlsafe_b64encode(salt).decode()
    digest_text = base64.urlsafe_b64encode(digest).decode()
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt_text}${digest_text}"


def verify_secret(secret: str, stored: str) -> bool:
    """Constant-time check of ``secret`` against a :func:`hash_secret` string."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.urlsafe_b64decode(digest)
        actual = hashlib.scrypt(
            secret.encode(),
            salt=base64.urlsafe_b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except (ValueError, UnicodeEncodeError):
        return False
    return hmac.compare_digest(actual, expected)


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:40] or "client"


def register_client(
    engine: Engine,
    *,
    name: str,
    scopes: list[str],
    city: str | None = None,
    jwks: dict[str, Any] | None = None,
) -> NewClient:
    """Register a client. Without ``jwks`` a secret is generated and returned (once)."""
    if not _NAME.match(name):
        raise ClientRegistrationError(
            "--name: 1-120 letters, digits, spaces or . , ' ( ) / - characters"
        )
    unknown = sorted(set(scopes) - set(SCOPES))
    if not scopes or unknown:
        raise ClientRegistrationError(f"--scope: give one or more of {', '.join(SCOPES)}")
    if city is not None and not is_city(city):
        raise ClientRegistrationError("--city: not a city of the network (see specs/cities.yaml)")
    if city is None and CITY_BOUND & set(scopes):
        raise ClientRegistrationError("--city: records:write needs the city the client writes for")
    if jwks is not None:
        load_public_key_set(jwks, where="--jwks")
    client_id = f"{_slug(name)}-{secrets.token_hex(4)}"
    secret = None if jwks is not None else secrets.token_urlsafe(32)
    with engine.begin() as connection:
        connection.execute(
            insert(OAuthClientRow),
            [
                {
                    "client_id": client_id,
                    "name": name,
                    "secret_hash": hash_secret(secret) if secret is not None else None,
                    "scopes": " ".join(s for s in SCOPES if s in scopes),
                    "city": city,
                    "jwks": jwks,
                    "created_at": datetime.now(UTC),
                    "disabled": False,
                }
            ],
        )
    return NewClient(client_id=client_id, secret=secret)


_COLUMNS = (
    OAuthClientRow.client_id,
    OAuthClientRow.name,
    OAuthClientRow.scopes,
    OAuthClientRow.city,
    OAuthClientRow.jwks,
    OAuthClientRow.secret_hash,
    OAuthClientRow.disabled,
    OAuthClientRow.created_at,
)


def _client(row: Any) -> RegisteredClient:
    return RegisteredClient(
        client_id=row.client_id,
        name=row.name,
        scopes=frozenset(row.scopes.split()),
        city=row.city,
        jwks=row.jwks,
        has_secret=row.secret_hash is not None,
        disabled=row.disabled,
        created_at=row.created_at,
    )


def find_client(connection: Connection, client_id: str) -> tuple[RegisteredClient, str | None]:
    """The client and its secret hash; ``KeyError`` when unknown."""
    row = connection.execute(
        select(*_COLUMNS).where(OAuthClientRow.client_id == client_id[:80])
    ).first()
    if row is None:
        raise KeyError("unknown client")
    return _client(row), row.secret_hash


def list_clients(connection: Connection) -> list[RegisteredClient]:
    rows = connection.execute(select(*_COLUMNS).order_by(OAuthClientRow.created_at)).all()
    return [_client(row) for row in rows]
