"""PDND vouchers: RS256, typ at+jwt, a purposeId the e-service allows."""

from __future__ import annotations

import json

import pytest
from joserfc.jwk import KeySet

from gateway.auth.errors import InvalidToken
from gateway.auth.issuers import TrustedIssuer
from gateway.auth.jwks import StaticKeys
from gateway.auth.rfc6750 import BearerValidator
from tests.gateway.auth.jwt_factory import claims, ec_key, public_jwks, rsa_key, sign

PDND = "uat.interop.pagopa.it"
AUD = "lgnet/eservice"
ALLOWED = "0f5b7a3e-1d2c-4c5e-9f5b-7a3e1d2c4c5e"


@pytest.fixture(scope="module")
def pdnd_key():
    return rsa_key("pdnd-1")


@pytest.fixture(scope="module")
def pdnd_ec_key():
    return ec_key("pdnd-ec")


@pytest.fixture
def validator(pdnd_key, pdnd_ec_key, tmp_path) -> BearerValidator:
    jwks = tmp_path / "pdnd.json"
    jwks.write_text(json.dumps(public_jwks(pdnd_key, pdnd_ec_key)))
    issuer = TrustedIssuer(
        issuer=PDND,
        jwks_file=jwks,
        audience=AUD,
        profile="pdnd",
        allowed_purpose_ids=[ALLOWED],
        scopes=["cases:read", "summaries:read"],
    )
    return BearerValidator(
        issuer="https://gateway.test",
        audience="lgnet-gateway",
        keys=StaticKeys(KeySet([rsa_key("own")])),
        trusted=[issuer],
    )


def voucher(purpose: str | None = ALLOWED, **extra) -> dict:
    body = claims(iss=PDND, aud=AUD, scope="", client_id="9b1c0f7e-pdnd-client", **extra)
    del body["scope"]  # vouchers carry a purpose, not scopes
    if purpose is not None:
        body["purposeId"] = purpose
    return body


def test_a_voucher_with_an_allowed_purpose_is_accepted(validator, pdnd_key) -> None:
    principal = validator.validate(sign(pdnd_key, voucher()))
    assert principal.purpose_id == ALLOWED
    assert principal.scopes == {"cases:read", "summaries:read"}
    assert not principal.own
    assert principal.actor == f"{PDND}/9b1c0f7e-pdnd-client"


def test_a_voucher_with_another_purpose_is_refused(validator, pdnd_key) -> None:
    with pytest.raises(InvalidToken, match="purposeId is not allowed"):
        validator.validate(sign(pdnd_key, voucher("11111111-2222-3333-4444-555555555555")))


def test_a_voucher_without_purpose_is_refused(validator, pdnd_key) -> None:
    with pytest.raises(InvalidToken, match="no purposeId"):
        validator.validate(sign(pdnd_key, voucher(None)))


def test_a_voucher_must_be_typed_at_jwt(validator, pdnd_key) -> None:
    with pytest.raises(InvalidToken, match="at\\+jwt"):
        validator.validate(sign(pdnd_key, voucher(), typ="JWT"))


def test_a_voucher_must_be_rs256(validator, pdnd_ec_key) -> None:
    # Validly signed by a key PDND publishes, but vouchers are RS256 only.
    with pytest.raises(InvalidToken, match="RS256"):
        validator.validate(sign(pdnd_ec_key, voucher(), alg="ES256"))


def test_a_voucher_for_another_audience_is_refused(validator, pdnd_key) -> None:
    body = {**voucher(), "aud": "another-eservice"}
    with pytest.raises(InvalidToken, match="audience"):
        validator.validate(sign(pdnd_key, body))


def test_scopes_a_voucher_claims_are_capped_by_the_configuration(validator, pdnd_key) -> None:
    principal = validator.validate(sign(pdnd_key, {**voucher(), "scope": "admin cases:read"}))
    assert principal.scopes == {"cases:read"}
