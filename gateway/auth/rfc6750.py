"""Bearer token usage (RFC 6750): validation of JWT access tokens and the errors it answers.

A token is accepted when (in this order) it is a compact JWS whose ``alg`` is on the
allow-list (never ``none``, never HMAC), its ``iss`` is the gateway itself or a trusted
issuer, its ``kid`` names a key of that issuer, the signature verifies, and ``aud``, ``exp``
and ``nbf`` hold with a small leeway; the gateway's own tokens and PDND vouchers must also be
typed ``at+jwt`` (RFC 9068 §4). Scope and city binding are checked per route by
:func:`require`.

A missing token gives 401 with a bare ``WWW-Authenticate: Bearer`` challenge; a bad one 401
``invalid_token``; a good one without the scope or for another city 403 ``insufficient_scope``
(RFC 6750 §3.1).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import Key

from gateway.auth.errors import InsufficientScope, InvalidRequest, InvalidToken, MissingToken
from gateway.auth.issuers import TrustedIssuer
from gateway.auth.jwks import ALLOWED_ALGORITHMS, KeySource, jws_registry
from gateway.auth.pdnd import check_voucher
from gateway.auth.scopes import CITY_BOUND, parse_scope

MAX_TOKEN_BYTES = 8192
ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})


@dataclass(frozen=True)
class Principal:
    """Who is calling: a client of the gateway or of a trusted issuer, and what it may do."""

    client_id: str
    issuer: str
    scopes: frozenset[str]
    city: str | None = None
    purpose_id: str | None = None
    own: bool = True

    @property
    def actor(self) -> str:
        """The name the audit log and the rate limiter know the caller by."""
        if self.own:
            return self.client_id[:120]
        host = urlsplit(self.issuer).hostname or self.issuer
        return f"{host}/{self.client_id}"[:120]


@dataclass(frozen=True)
class _Issuer:
    name: str
    audience: str
    keys: KeySource
    own: bool = False
    pdnd: bool = False
    allowed_purpose_ids: frozenset[str] = frozenset()
    client_cities: Mapping[str, str] = field(default_factory=dict)
    max_scopes: frozenset[str] | None = None


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer`` header (RFC 6750 §2.1)."""
    if not authorization:
        raise MissingToken("a bearer token is required")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise MissingToken("a bearer token is required")
    token = token.strip()
    if not token or " " in token:
        raise InvalidRequest("the Authorization header is malformed")
    return token


def _segment(part: str) -> Any:
    padded = part + "=" * (-len(part) % 4)
    return orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a compact JWS, NOT verified: only to choose how to verify it."""
    if len(token) > MAX_TOKEN_BYTES:
        raise InvalidToken("the token is too large")
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("the token is not a signed JWT")
    try:
        header, claims = _segment(parts[0]), _segment(parts[1])
    except (ValueError, UnicodeEncodeError, binascii.Error, orjson.JSONDecodeError):
        raise InvalidToken("the token is malformed") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise InvalidToken("the token is malformed")
    return header, claims


class BearerValidator:
    """Validates access tokens of the gateway and of the trusted issuers."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        keys: KeySource,
        trusted: Sequence[TrustedIssuer] = (),
        leeway_seconds: int = 30,
    ) -> None:
        self._leeway = leeway_seconds
        self._issuers: dict[str, _Issuer] = {
            issuer: _Issuer(issuer, audience, keys, own=True),
        }
        for entry in trusted:
            self._issuers[entry.issuer] = _Issuer(
                entry.issuer,
                entry.audience,
                entry.key_source(),
                pdnd=entry.profile == "pdnd",
                allowed_purpose_ids=frozenset(entry.allowed_purpose_ids),
                client_cities=dict(entry.client_cities),
                max_scopes=frozenset(entry.scopes) if entry.scopes is not None else None,
            )

    def validate(self, token: str) -> Principal:
        """Return the caller, or raise :class:`InvalidToken` saying which check failed."""
        header, unverified = peek(token)
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in ALLOWED_ALGORITHMS:
            raise InvalidToken("the token's algorithm is not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("the token names no key (kid)")
        issuer = self._issuers.get(unverified.get("iss"))  # type: ignore[arg-type]
        if issuer is None:
            raise InvalidToken("the token's issuer is not trusted")
        key = issuer.keys.key(kid)
        if key is None:
            raise InvalidToken("the token's key (kid) is unknown")
        claims = self._verify(token, key, alg, issuer)
        if issuer.own or issuer.pdnd:
            typ = header.get("typ")
            if not isinstance(typ, str) or typ.lower() not in ACCESS_TOKEN_TYPES:
                raise InvalidToken("the token is not an access token (typ at+jwt)")
        purpose_id = None
        if issuer.pdnd:
            purpose_id = check_voucher(header, claims, issuer.allowed_purpose_ids)
        return self._principal(claims, issuer, purpose_id)

    def _verify(self, token: str, key: Key, alg: str, issuer: _Issuer) -> dict[str, Any]:
        try:
            decoded = jwt.decode(token, key, algorithms=[alg], registry=jws_registry(alg))
        except BadSignatureError:
            raise InvalidToken("the token's signature does not verify") from None
        except JoseError:
            raise InvalidToken("the token's signature or key does not fit its algorithm") from None
        registry = jwt.JWTClaimsRegistry(
            leeway=self._leeway,
            iss={"essential": True, "value": issuer.name},
            aud={"essential": True, "value": issuer.audience},
            exp={"essential": True},
        )
        try:
            registry.validate(decoded.claims)
        except ExpiredTokenError:
            raise InvalidToken("the token has expired") from None
        except MissingClaimError:
            raise InvalidToken("the token lacks a required claim (iss, aud, exp)") from None
        except InvalidClaimError as exc:
            raise InvalidToken(_claim_problem(exc)) from None
        return decoded.claims

    def _principal(
        self, claims: Mapping[str, Any], issuer: _Issuer, purpose_id: str | None
    ) -> Principal:
        client_id = claims.get("client_id") or claims.get("azp") or claims.get("sub")
        if not isinstance(client_id, str) or not client_id:
            raise InvalidToken("the token names no client")
        scopes = parse_scope(claims.get("scope", claims.get("scp")))
        if issuer.max_scopes is not None:
            scopes = scopes & issuer.max_scopes if scopes else issuer.max_scopes
        if issuer.own:
            city = claims.get("city")
            city = city if isinstance(city, str) else None
        else:
            city = issuer.client_cities.get(client_id)
        return Principal(
            client_id=client_id,
            issuer=issuer.name,
            scopes=frozenset(scopes),
            city=city,
            purpose_id=purpose_id,
            own=issuer.own,
        )


def _claim_problem(exc: InvalidClaimError) -> str:
    claim = getattr(exc, "claim", "")
    return {
        "nbf": "the token is not yet valid",
        "iat": "the token was issued in the future",
        "iss": "the token's issuer does not match",
        "aud": "the token is not meant for this audience",
    }.get(claim, "a claim of the token is invalid")


def require(principal: Principal, scope: str, *, city: str | None = None) -> None:
    """Raise :class:`InsufficientScope` unless the caller holds ``scope`` (for ``city``).

    A city-bound scope (``records:write``) needs a token bound to that very city. Other scopes
    on a city-bound token are limited to that city.
    """
    if scope not in principal.scopes:
        raise InsufficientScope(f"the token lacks the scope {scope}", scope)
    bound = scope in CITY_BOUND or principal.city is not None
    if city is not None and bound and principal.city != city:
        raise InsufficientScope("the token is not bound to this city", scope)


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def www_authenticate(
    error: str, description: str | None = None, scope: str | None = None, realm: str = "lgnet"
) -> str:
    """The ``WWW-Authenticate`` challenge of RFC 6750 §3."""
    parts = [f"realm={_quoted(realm)}"]
    if error:
        parts.append(f"error={_quoted(error)}")
        if description:
            parts.append(f"error_description={_quoted(description)}")
        if scope:
            parts.append(f"scope={_quoted(scope)}")
    return "Bearer " + ", ".join(parts)
