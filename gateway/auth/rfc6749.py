"""The token endpoint: client credentials grant (RFC 6749 §4.4), JWT access tokens (RFC 9068).

Client authentication (RFC 6749 §2.3): ``client_secret_basic``, ``client_secret_post``, or
``private_key_jwt`` (:mod:`gateway.auth.rfc7523`) — exactly one per request. The token is
signed by the active signing key, typed ``at+jwt``, lives ``LGNET_TOKEN_TTL_SECONDS``, carries
the granted ``scope`` and, for a city's client, the ``city`` it is bound to.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from joserfc import jwt
from sqlalchemy import Engine

from gateway.auth.clients import RegisteredClient, find_client, verify_secret
from gateway.auth.errors import (
    InvalidClient,
    InvalidRequest,
    InvalidScope,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from gateway.auth.jwks import SigningKeyStore, jws_registry
from gateway.auth.rfc7523 import ASSERTION_TYPE, authenticate_assertion
from gateway.auth.scopes import format_scope, parse_scope

GRANT_TYPE = "client_credentials"
TOKEN_PATH = "/oauth2/token"  # noqa: S105 (a path, not a password)
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")


@dataclass(frozen=True)
class TokenRequest:
    """The parts of a token request that matter: form fields and the Authorization header."""

    form: Mapping[str, str]
    authorization: str | None = None


@dataclass(frozen=True)
class TokenResponse:
    body: dict[str, Any]
    client: RegisteredClient


@dataclass(frozen=True)
class TokenIssuer:
    """Issues access tokens for the gateway (issuer ``issuer``, audience ``audience``)."""

    engine: Engine
    keys: SigningKeyStore
    issuer: str
    audience: str
    ttl_seconds: int
    leeway_seconds: int = 30

    @property
    def token_endpoint(self) -> str:
        return self.issuer.rstrip("/") + TOKEN_PATH

    def issue(self, request: TokenRequest) -> TokenResponse:
        """Authenticate the client and issue a token; raise an :class:`OAuthError`."""
        grant_type = request.form.get("grant_type")
        if not grant_type:
            raise InvalidRequest("grant_type is required")
        client = self._authenticate(request)
        if grant_type != GRANT_TYPE:
            raise UnsupportedGrantType("only the client_credentials grant is supported")
        if client.disabled:
            raise UnauthorizedClient("the client is disabled")
        requested = parse_scope(request.form.get("scope", ""))
        if requested - client.scopes:
            raise InvalidScope("the scope asked for is beyond the client's registration")
        granted = requested or client.scopes
        return TokenResponse(self._token(client, frozenset(granted)), client)

    def _authenticate(self, request: TokenRequest) -> RegisteredClient:
        form = request.form
        basic = _basic_credentials(request.authorization)
        posted = "client_secret" in form
        assertion = form.get("client_assertion")
        methods = sum((basic is not None, posted, assertion is not None))
        if methods > 1:
            raise InvalidRequest("use exactly one client authentication method")
        if assertion is not None:
            if form.get("client_assertion_type") != ASSERTION_TYPE:
                raise InvalidRequest("client_assertion_type must be the RFC 7523 jwt-bearer type")
            return authenticate_assertion(
                self.engine,
                assertion=assertion,
                client_id=form.get("client_id"),
                audiences=[self.token_endpoint, self.issuer],
                leeway_seconds=self.leeway_seconds,
            )
        if basic is not None:
            client_id, secret = basic
        elif posted:
            client_id, secret = form.get("client_id", ""), form["client_secret"]
        else:
            raise InvalidClient("client authentication is required")
        if form.get("client_id") not in (None, client_id):
            raise InvalidRequest("client_id does not match the authenticated client")
        with self.engine.connect() as connection:
            try:
                client, secret_hash = find_client(connection, client_id)
            except KeyError:
                secret_hash = None
        if secret_hash is None or not verify_secret(secret, secret_hash):
            raise InvalidClient("client authentication failed")
        return client

    def _token(self, client: RegisteredClient, scopes: frozenset[str]) -> dict[str, Any]:
        signing = self.keys.active()
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": client.client_id,
            "aud": self.audience,
            "client_id": client.client_id,
            "scope": format_scope(scopes),
            "iat": now,
            "nbf": now,
            "exp": now + self.ttl_seconds,
            "jti": secrets.token_urlsafe(16),
        }
        if client.city is not None:
            claims["city"] = client.city
        header = {"alg": signing.alg, "kid": signing.kid, "typ": "at+jwt"}
        token = jwt.encode(header, claims, signing.key, registry=jws_registry(signing.alg))
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.ttl_seconds,
            "scope": claims["scope"],
        }


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """``client_secret_basic``: form-urlencoded id and secret, base64'd (RFC 6749 §2.3.1)."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidClient("the Basic credentials are malformed") from None
    client_id, separator, secret = decoded.partition(":")
    if not separator:
        raise InvalidClient("the Basic credentials are malformed")
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))
