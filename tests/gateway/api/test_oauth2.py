"""``/oauth2/token``, ``/oauth2/jwks`` and the metadata, over HTTP."""

from __future__ import annotations

import time

from joserfc import jwt
from joserfc.jwk import KeySet

from gateway.auth.rfc7523 import ASSERTION_TYPE
from tests.gateway.api.conftest import ISSUER
from tests.gateway.auth.jwt_factory import public_jwks, rsa_key, sign


def test_metadata_points_at_the_endpoints(gateway) -> None:
    document = gateway.client.get("/.well-known/oauth-authorization-server").json()
    assert document["issuer"] == ISSUER
    assert document["token_endpoint"] == ISSUER + "/oauth2/token"
    assert document["jwks_uri"] == ISSUER + "/oauth2/jwks"
    assert document["grant_types_supported"] == ["client_credentials"]
    assert set(document["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    }
    assert "none" not in document["token_endpoint_auth_signing_alg_values_supported"]


def test_a_token_verifies_with_the_published_jwks(gateway) -> None:
    token = gateway.token("cases:read")
    jwks = gateway.client.get("/oauth2/jwks").json()
    assert all("d" not in key for key in jwks["keys"])
    decoded = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["RS256"])
    assert decoded.header["typ"] == "at+jwt"
    assert decoded.claims["aud"] == gateway.settings.audience


def test_token_errors_follow_rfc6749(gateway) -> None:
    new = gateway.register("cases:read")
    wrong = gateway.client.post(
        "/oauth2/token", data={"grant_type": "client_credentials"}, auth=(new.client_id, "nope")
    )
    assert wrong.status_code == 401
    assert wrong.headers["content-type"] == "application/json"
    assert wrong.headers["WWW-Authenticate"] == 'Basic realm="lgnet"'
    assert wrong.headers["Cache-Control"] == "no-store"
    assert wrong.json()["error"] == "invalid_client"
    assert new.secret not in wrong.text
    unsupported = gateway.client.post(
        "/oauth2/token",
        data={"grant_type": "password", "client_id": new.client_id, "client_secret": new.secret},
    )
    assert unsupported.status_code == 400
    assert unsupported.json()["error"] == "unsupported_grant_type"
    scope = gateway.client.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials", "scope": "admin"},
        auth=(new.client_id, new.secret),
    )
    assert scope.json()["error"] == "invalid_scope"
    empty = gateway.client.post(
        "/oauth2/token", content=b"", headers={"Content-Type": "text/plain"}
    )
    assert empty.status_code == 400 and empty.json()["error"] == "invalid_request"


def test_private_key_jwt_over_http_and_its_replay(gateway) -> None:
    key = rsa_key("national-1")
    new = gateway.register("cases:read", jwks=public_jwks(key))
    now = int(time.time())
    assertion = sign(
        key,
        {
            "iss": new.client_id,
            "sub": new.client_id,
            "aud": ISSUER + "/oauth2/token",
            "iat": now,
            "exp": now + 60,
            "jti": "assertion-1",
        },
        typ=None,
    )
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    first = gateway.client.post("/oauth2/token", data=form)
    assert first.status_code == 200, first.text
    replay = gateway.client.post("/oauth2/token", data=form)
    assert replay.status_code == 401
    assert replay.json() == {
        "error": "invalid_client",
        "error_description": "the client assertion was already used (replay)",
    }
