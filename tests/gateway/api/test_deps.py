"""Every protected route refuses bad tokens as RFC 6750 says: 401 ``invalid_token`` for a
token that is not valid, 403 ``insufficient_scope`` for a valid one that may not do this.

Tokens are real JWTs signed by real keys; the gateway's own key is taken from its JWKS table
so that forged tokens can be made to look like its own.
"""

from __future__ import annotations

import json
import time

import pytest

from gateway.api import create_app
from tests.gateway.api.conftest import ISSUER, intake
from tests.gateway.auth.jwt_factory import (
    JwksServer,
    alg_none,
    claims,
    hs256_with_public_key,
    rsa_key,
    sign,
    tamper,
)

RECORDS = "/v1/cities/roma/records"


@pytest.fixture(scope="module")
def own_key(gateway):
    """The gateway's active signing key (private), to sign tokens like the gateway does."""
    return gateway.app.state.lgnet.keys.active()


def own(own_key, gateway, **changes) -> str:
    body = claims(iss=ISSUER, aud=gateway.settings.audience, scope="records:write", city="roma")
    body.update(changes)
    body = {k: v for k, v in body.items() if v is not None}
    return sign(own_key.key, body, kid=own_key.kid)


def call(gateway, token: str):
    headers = {"Authorization": f"Bearer {token}"}
    return gateway.client.post(RECORDS, json=[intake("roma", 2000)], headers=headers)


def assert_invalid_token(response) -> None:
    assert response.status_code == 401, response.text
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="lgnet", error="invalid_token"')
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:lgnet:problem:invalid-token"


def test_a_token_signed_like_the_gateway_is_accepted(gateway, own_key) -> None:
    assert call(gateway, own(own_key, gateway)).status_code == 200


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": int(time.time()) - 120, "iat": int(time.time()) - 900},
        {"nbf": int(time.time()) + 600},
        {"iss": "https://someone-else.test"},
        {"aud": "another-api"},
    ],
    ids=["expired", "not-yet-valid", "wrong-iss", "wrong-aud"],
)
def test_invalid_claims_are_401(gateway, own_key, changes) -> None:
    assert_invalid_token(call(gateway, own(own_key, gateway, **changes)))


def test_forged_tokens_are_401(gateway, own_key) -> None:
    good = claims(iss=ISSUER, aud=gateway.settings.audience, scope="records:write", city="roma")
    public_pem = own_key.key.as_pem(private=False)
    forged = {
        "unknown-kid": sign(rsa_key("not-ours"), good),
        "alg-none": alg_none(good, own_key.kid),
        "hs256-with-public-key": hs256_with_public_key(good, public_pem, own_key.kid),
        "tampered": tamper(own(own_key, gateway, scope="cases:read"), scope="records:write"),
        "garbage": "not-a-jwt",
    }
    for name, token in forged.items():
        response = call(gateway, token)
        assert response.status_code == 401, name
        assert_invalid_token(response)


def test_no_token_is_401_without_an_error_code(gateway) -> None:
    response = gateway.client.post(RECORDS, json=[intake("roma", 2000)])
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="lgnet"'


def test_missing_scope_is_403_insufficient_scope(gateway, own_key) -> None:
    response = call(gateway, own(own_key, gateway, scope="cases:read"))
    assert response.status_code == 403
    challenge = response.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="records:write"' in challenge


def test_another_city_is_403(gateway, own_key) -> None:
    milano = gateway.auth("records:write", city="milano")
    response = gateway.client.post(RECORDS, json=[intake("roma", 2001)], headers=milano)
    assert response.status_code == 403
    assert "not bound to this city" in response.json()["detail"]
    unbound = call(gateway, own(own_key, gateway, city=None))
    assert unbound.status_code == 403


def test_every_protected_route_refuses_without_token(gateway) -> None:
    for method, path in [
        ("POST", "/v1/cities/roma/records"),
        ("POST", "/v1/cities/roma/fhir"),
        ("POST", "/v1/cities/roma/files/welfare"),
        ("GET", "/v1/cases"),
        ("GET", "/v1/status"),
    ]:
        response = gateway.client.request(method, path)
        assert response.status_code == 401, path


def test_an_external_issuer_from_a_jwks_uri_rotating_its_keys(gateway) -> None:
    first, second = rsa_key("idp-1"), rsa_key("idp-2")
    server = JwksServer([first])
    issuer = "https://idp.comune.test"
    with server.running():
        trusted = [
            {
                "issuer": issuer,
                "jwks_uri": server.url,
                "audience": "lgnet-gateway",
                "client_cities": {"torino-welfare": "torino"},
                "scopes": ["records:write"],
                "jwks_refresh_cooldown_seconds": 0,
            }
        ]
        settings = gateway.settings.model_copy(update={"trusted_issuers": trusted})
        from fastapi.testclient import TestClient

        with TestClient(create_app(settings, gateway.engine)) as client:

            def push(key) -> int:
                token = sign(
                    key,
                    claims(iss=issuer, aud="lgnet-gateway", client_id="torino-welfare", scope=""),
                    typ="JWT",
                )
                return client.post(
                    "/v1/cities/torino/records",
                    json=[intake("torino", 2010)],
                    headers={"Authorization": f"Bearer {token}"},
                ).status_code

            assert push(first) == 200
            server.publish(first, second)  # the issuer rotates; the gateway has cached idp-1
            assert push(second) == 200
            assert server.hits == 2
            assert push(rsa_key("idp-3")) == 401  # still unknown after a refresh


def test_a_pdnd_voucher_reads_the_feed_only_with_an_allowed_purpose(gateway, tmp_path) -> None:
    pdnd_key = rsa_key("pdnd-key")
    jwks = tmp_path / "pdnd.json"
    jwks.write_text(json.dumps({"keys": [pdnd_key.as_dict(private=False)]}))
    trusted = [
        {
            "issuer": "interop.pagopa.it",
            "jwks_file": str(jwks),
            "audience": "lgnet/eservice/cases",
            "profile": "pdnd",
            "allowed_purpose_ids": ["purpose-ok"],
            "scopes": ["cases:read"],
        }
    ]
    settings = gateway.settings.model_copy(update={"trusted_issuers": trusted})
    from fastapi.testclient import TestClient

    with TestClient(create_app(settings, gateway.engine)) as client:

        def read(purpose: str) -> int:
            body = claims(iss="interop.pagopa.it", aud="lgnet/eservice/cases", purposeId=purpose)
            del body["scope"]
            token = sign(pdnd_key, body)
            return client.get("/v1/cases", headers={"Authorization": f"Bearer {token}"}).status_code

        assert read("purpose-ok") == 200
        assert read("purpose-other") == 401
