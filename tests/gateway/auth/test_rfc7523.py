"""``private_key_jwt``: a signed assertion authenticates the client, once."""

from __future__ import annotations

import time

import pytest

from gateway.auth.clients import register_client
from gateway.auth.errors import InvalidClient, InvalidRequest
from gateway.auth.rfc6749 import TokenRequest
from gateway.auth.rfc7523 import ASSERTION_TYPE
from tests.gateway.auth.conftest import ISSUER
from tests.gateway.auth.jwt_factory import public_jwks, rsa_key, sign

TOKEN_URL = ISSUER + "/oauth2/token"


@pytest.fixture(scope="module")
def client_key():
    return rsa_key("client-key-1")


@pytest.fixture
def client_id(shared_engine, client_key) -> str:
    jwks = public_jwks(client_key)
    return register_client(
        shared_engine, name="National", scopes=["cases:read"], jwks=jwks
    ).client_id


def assertion_claims(client_id: str, **changes) -> dict:
    now = int(time.time())
    body = {
        "iss": client_id,
        "sub": client_id,
        "aud": TOKEN_URL,
        "iat": now,
        "exp": now + 120,
        "jti": f"jti-{time.time_ns()}",
    }
    body.update(changes)
    return body


def request(assertion: str, **form) -> TokenRequest:
    return TokenRequest(
        {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
            **form,
        }
    )


def test_a_signed_assertion_authenticates_the_client(issuer, client_id, client_key) -> None:
    assertion = sign(client_key, assertion_claims(client_id), typ=None)
    issued = issuer.issue(request(assertion, client_id=client_id))
    assert issued.client.client_id == client_id
    # The issuer itself is an accepted audience too.
    other = sign(client_key, assertion_claims(client_id, aud=ISSUER), typ=None)
    assert issuer.issue(request(other)).client.client_id == client_id


def test_a_replayed_assertion_is_refused(issuer, client_id, client_key) -> None:
    assertion = sign(client_key, assertion_claims(client_id), typ=None)
    issuer.issue(request(assertion))
    with pytest.raises(InvalidClient, match="replay"):
        issuer.issue(request(assertion))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"aud": "https://elsewhere.test/token"}, "claims"),
        ({"exp": int(time.time()) - 300}, "claims"),
        ({"exp": int(time.time()) + 3600}, "too long"),
        ({"jti": None}, "claims"),
        ({"sub": "someone-else"}, "iss and sub"),
    ],
    ids=["wrong-aud", "expired", "too-long", "no-jti", "sub-differs"],
)
def test_bad_assertions_are_refused(issuer, client_id, client_key, changes, message) -> None:
    body = {k: v for k, v in assertion_claims(client_id, **changes).items() if v is not None}
    with pytest.raises(InvalidClient, match=message):
        issuer.issue(request(sign(client_key, body, typ=None)))


def test_an_assertion_signed_by_another_key_is_refused(issuer, client_id) -> None:
    impostor = rsa_key("client-key-1")
    with pytest.raises(InvalidClient, match="signature"):
        issuer.issue(request(sign(impostor, assertion_claims(client_id), typ=None)))
    stranger = rsa_key("unregistered")
    with pytest.raises(InvalidClient, match="not registered"):
        issuer.issue(request(sign(stranger, assertion_claims(client_id), typ=None)))


def test_assertion_type_and_client_id_must_match(issuer, client_id, client_key) -> None:
    assertion = sign(client_key, assertion_claims(client_id), typ=None)
    with pytest.raises(InvalidRequest, match="client_assertion_type"):
        issuer.issue(request(assertion, client_assertion_type="urn:other"))
    with pytest.raises(InvalidClient, match="does not match"):
        issuer.issue(request(assertion, client_id="another-client"))


def test_a_secret_client_cannot_use_an_assertion(shared_engine, issuer, client_key) -> None:
    secret_client = register_client(shared_engine, name="Secret", scopes=["cases:read"]).client_id
    assertion = sign(client_key, assertion_claims(secret_client), typ=None)
    with pytest.raises(InvalidClient, match="no registered keys"):
        issuer.issue(request(assertion))
