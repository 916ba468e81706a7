"""The token endpoint's logic: client credentials with secret or key, scopes, token shape."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import update

from gateway.auth.clients import register_client
from gateway.auth.errors import (
    InvalidClient,
    InvalidRequest,
    InvalidScope,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from gateway.auth.rfc6749 import TokenRequest
from gateway.auth.rfc6750 import BearerValidator, peek
from gateway.storage.tables import OAuthClientRow
from tests.gateway.auth.conftest import AUDIENCE, ISSUER

GRANT = {"grant_type": "client_credentials"}


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def test_client_secret_basic_and_post_give_a_bound_access_token(shared_engine, issuer) -> None:
    new = register_client(
        shared_engine, name="Roma welfare", scopes=["records:write", "cases:read"], city="roma"
    )
    by_basic = issuer.issue(TokenRequest(GRANT, basic(new.client_id, new.secret)))
    by_post = issuer.issue(
        TokenRequest({**GRANT, "client_id": new.client_id, "client_secret": new.secret})
    )
    for issued in (by_basic, by_post):
        body = issued.body
        assert body["token_type"] == "Bearer" and body["expires_in"] == 600
        assert body["scope"] == "records:write cases:read"
        header, claims = peek(body["access_token"])
        assert header["typ"] == "at+jwt" and header["alg"] == "RS256"
        assert header["kid"] == issuer.keys.active().kid
        assert claims["city"] == "roma" and claims["client_id"] == new.client_id
        assert claims["exp"] - claims["iat"] == 600
    validator = BearerValidator(issuer=ISSUER, audience=AUDIENCE, keys=issuer.keys)
    principal = validator.validate(by_basic.body["access_token"])
    assert principal.city == "roma" and principal.scopes == {"records:write", "cases:read"}


def test_a_narrower_scope_can_be_asked_for(shared_engine, issuer) -> None:
    new = register_client(shared_engine, name="National", scopes=["cases:read", "summaries:read"])
    issued = issuer.issue(
        TokenRequest({**GRANT, "scope": "summaries:read"}, basic(new.client_id, new.secret))
    )
    assert issued.body["scope"] == "summaries:read"
    with pytest.raises(InvalidScope):
        issuer.issue(TokenRequest({**GRANT, "scope": "admin"}, basic(new.client_id, new.secret)))


def test_client_authentication_failures(shared_engine, issuer) -> None:
    new = register_client(shared_engine, name="National", scopes=["cases:read"])
    with pytest.raises(InvalidClient):
        issuer.issue(TokenRequest(GRANT, basic(new.client_id, "wrong")))
    with pytest.raises(InvalidClient):
        issuer.issue(TokenRequest(GRANT, basic("nobody", new.secret)))
    with pytest.raises(InvalidClient, match="required"):
        issuer.issue(TokenRequest(GRANT))
    with pytest.raises(InvalidClient, match="malformed"):
        issuer.issue(TokenRequest(GRANT, "Basic !!!"))
    with pytest.raises(InvalidRequest, match="exactly one"):
        issuer.issue(
            TokenRequest({**GRANT, "client_secret": new.secret}, basic(new.client_id, new.secret))
        )


def test_grant_type_is_checked(shared_engine, issuer) -> None:
    new = register_client(shared_engine, name="National", scopes=["cases:read"])
    with pytest.raises(InvalidRequest, match="grant_type"):
        issuer.issue(TokenRequest({}, basic(new.client_id, new.secret)))
    with pytest.raises(UnsupportedGrantType):
        issuer.issue(TokenRequest({"grant_type": "password"}, basic(new.client_id, new.secret)))


def test_a_disabled_client_gets_no_token(shared_engine, issuer) -> None:
    new = register_client(shared_engine, name="National", scopes=["cases:read"])
    with shared_engine.begin() as connection:
        connection.execute(
            update(OAuthClientRow)
            .where(OAuthClientRow.client_id == new.client_id)
            .values(disabled=True)
        )
    with pytest.raises(UnauthorizedClient):
        issuer.issue(TokenRequest(GRANT, basic(new.client_id, new.secret)))
