"""JWT client assertions for ``private_key_jwt`` client authentication.

RFC 7523 §2.2 and §3 (and OpenID Connect Core §9): the client proves who it is at the token
endpoint with a JWT signed by its private key::

    header  {"alg": "RS256", "typ": "JWT", "kid": "<key id registered with the server>"}
    claims  {"iss": client_id, "sub": client_id, "aud": token_endpoint,
             "jti": <unique>, "iat": now, "exp": now + lifetime}

PDND (the Italian national interoperability platform) adds a ``purposeId`` claim naming the
purpose the e-service is used for; pass ``purpose_id``.

The assertion is sent as ``client_assertion`` with
``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc import jwk, jwt

__all__ = ["ALGORITHMS", "CLIENT_ASSERTION_TYPE", "client_assertion", "load_private_key"]

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

#: Asymmetric algorithms only: a shared-secret HS256 "assertion" is client_secret_jwt, not this.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")

PrivateKey = jwk.RSAKey | jwk.ECKey


def load_private_key(pem_or_jwk: str | Mapping[str, Any]) -> PrivateKey:
    """An RSA or EC private key from PEM text or a JWK mapping."""
    if isinstance(pem_or_jwk, str):
        try:
            native = serialization.load_pem_private_key(pem_or_jwk.encode(), password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise ValueError("private key is not a readable unencrypted PEM key") from None
        if isinstance(native, rsa.RSAPrivateKey):
            return jwk.RSAKey.import_key(pem_or_jwk)
        if isinstance(native, ec.EllipticCurvePrivateKey):
            return jwk.ECKey.import_key(pem_or_jwk)
        raise ValueError("private key is neither an RSA nor an EC key")
    data = dict(pem_or_jwk) if isinstance(pem_or_jwk, Mapping) else None
    if data is None:
        raise ValueError("private key must be PEM text or a JWK")
    imported = jwk.import_key(data)
    if not isinstance(imported, jwk.RSAKey | jwk.ECKey) or not imported.is_private:
        raise ValueError("private key must be an RSA or EC private key")
    return imported


def client_assertion(
    *,
    client_id: str,
    audience: str,
    key: PrivateKey,
    kid: str | None = None,
    algorithm: str = "RS256",
    lifetime: int = 300,
    purpose_id: str | None = None,
    now: float | None = None,
    jti: str | None = None,
    extra_claims: Mapping[str, Any] | None = None,
) -> str:
    """A signed RFC 7523 client assertion (compact JWS)."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm {algorithm!r} is not an asymmetric JWS algorithm")
    if lifetime <= 0:
        raise ValueError("lifetime must be positive")
    issued = int(time.time() if now is None else now)
    header: dict[str, Any] = {"alg": algorithm, "typ": "JWT"}
    kid = kid or key.kid
    if kid:
        header["kid"] = kid
    claims: dict[str, Any] = {
        **(extra_claims or {}),
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": jti or uuid.uuid4().hex,
        "iat": issued,
        "exp": issued + lifetime,
    }
    if purpose_id is not None:
        claims["purposeId"] = purpose_id
    return jwt.encode(header, claims, key, algorithms=[algorithm])
