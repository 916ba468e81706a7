"""JWT client authentication, ``private_key_jwt`` (RFC 7523 §2.2 and §3; OIDC Core §9).

The client signs an assertion with its private key; the gateway verifies it with the public
JWKS registered for the client. The assertion must have ``iss`` = ``sub`` = the client id,
an ``aud`` naming the token endpoint (or the issuer), an ``exp`` no further than
:data:`MAX_ASSERTION_LIFETIME` ahead, and a ``jti`` that was never seen before: each
``jti`` is recorded until the assertion expires, so a captured assertion cannot be replayed.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Collection
from datetime import UTC, datetime

from joserfc import jwt
from joserfc.errors import ClaimError, JoseError
from sqlalchemy import Engine, delete, insert
from sqlalchemy.exc import IntegrityError

from gateway.auth.clients import RegisteredClient, find_client
from gateway.auth.errors import InvalidClient, InvalidToken
from gateway.auth.jwks import ALLOWED_ALGORITHMS, KeySetError, find_key, jws_registry
from gateway.auth.rfc6750 import peek
from gateway.storage.auth import SeenAssertionRow

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = 900


def authenticate_assertion(
    engine: Engine,
    *,
    assertion: str,
    client_id: str | None,
    audiences: Collection[str],
    leeway_seconds: int = 30,
) -> RegisteredClient:
    """Authenticate a client by its assertion, recording the ``jti``; raise InvalidClient."""
    try:
        header, unverified = peek(assertion)
    except InvalidToken:
        raise InvalidClient("the client assertion is malformed") from None
    issuer = unverified.get("iss")
    if not isinstance(issuer, str) or unverified.get("sub") != issuer:
        raise InvalidClient("the client assertion's iss and sub must be the client id")
    if client_id is not None and client_id != issuer:
        raise InvalidClient("client_id does not match the client assertion")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALLOWED_ALGORITHMS:
        raise InvalidClient("the client assertion's algorithm is not allowed")

    with engine.connect() as connection:
        try:
            client, _ = find_client(connection, issuer)
        except KeyError:
            raise InvalidClient("client authentication failed") from None
    if client.disabled:
        raise InvalidClient("client authentication failed")
    try:
        keys = client.key_set()
    except KeySetError:
        keys = None
    if keys is None:
        raise InvalidClient("the client has no registered keys for private_key_jwt")
    kid = header.get("kid")
    if isinstance(kid, str):
        key = find_key(keys, kid)
    else:
        key = next(iter(keys)) if len(keys.keys) == 1 else None
    if key is None:
        raise InvalidClient("the client assertion's key (kid) is not registered")

    try:
        decoded = jwt.decode(assertion, key, algorithms=[alg], registry=jws_registry(alg))
        jwt.JWTClaimsRegistry(
            leeway=leeway_seconds,
            iss={"essential": True, "value": issuer},
            sub={"essential": True, "value": issuer},
            aud={"essential": True, "values": list(audiences)},
            exp={"essential": True},
            jti={"essential": True},
        ).validate(decoded.claims)
    except ClaimError:
        raise InvalidClient("the client assertion's claims are invalid or expired") from None
    except JoseError:
        raise InvalidClient("the client assertion's signature does not verify") from None
    expires = decoded.claims["exp"]
    now = time.time()
    if expires > now + MAX_ASSERTION_LIFETIME + leeway_seconds:
        raise InvalidClient("the client assertion lives too long (at most 15 minutes)")
    _record_jti(engine, issuer, str(decoded.claims["jti"]), expires + leeway_seconds)
    return client


def _record_jti(engine: Engine, client_id: str, jti: str, expires: float) -> None:
    """Remember the assertion; a second use of the same ``jti`` is a replay."""
    now = datetime.now(UTC)
    row = {
        "client_id": client_id,
        "jti_hash": hashlib.sha256(jti.encode()).hexdigest(),
        "expires_at": datetime.fromtimestamp(expires, UTC),
    }
    try:
        with engine.begin() as connection:
            connection.execute(delete(SeenAssertionRow).where(SeenAssertionRow.expires_at < now))
            connection.execute(insert(SeenAssertionRow), [row])
    except IntegrityError:
        raise InvalidClient("the client assertion was already used (replay)") from None
