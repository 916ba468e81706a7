"""Bearer validation: every way a token is refused, with real keys and real signatures."""

from __future__ import annotations

import time

import pytest
from joserfc.jwk import KeySet

from gateway.auth.errors import InsufficientScope, InvalidRequest, InvalidToken, MissingToken
from gateway.auth.jwks import StaticKeys
from gateway.auth.rfc6750 import BearerValidator, Principal, bearer_token, require, www_authenticate
from tests.gateway.auth.jwt_factory import (
    alg_none,
    claims,
    ec_key,
    hs256_with_public_key,
    rsa_key,
    sign,
    tamper,
)

ISS = "https://gateway.test"
AUD = "lgnet-gateway"


@pytest.fixture(scope="module")
def key():
    return rsa_key("k1")


@pytest.fixture(scope="module")
def validator(key) -> BearerValidator:
    public = KeySet.import_key_set({"keys": [key.as_dict(private=False)]})
    return BearerValidator(issuer=ISS, audience=AUD, keys=StaticKeys(public), leeway_seconds=5)


def good(**extra) -> dict:
    return claims(iss=ISS, aud=AUD, scope="records:write cases:read", city="roma", **extra)


def test_a_good_token_gives_the_principal(validator, key) -> None:
    principal = validator.validate(sign(key, good()))
    assert principal == Principal(
        client_id="test-client",
        issuer=ISS,
        scopes=frozenset({"records:write", "cases:read"}),
        city="roma",
    )
    assert principal.actor == "test-client"


def expired() -> dict:
    now = int(time.time())
    return {**good(), "iat": now - 900, "nbf": now - 900, "exp": now - 60}


def not_yet_valid() -> dict:
    now = int(time.time())
    return {**good(), "nbf": now + 600, "exp": now + 900}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (expired, "expired"),
        (not_yet_valid, "not yet valid"),
        (lambda: {**good(), "iss": "https://evil.test"}, "issuer is not trusted"),
        (lambda: {**good(), "aud": "someone-else"}, "audience"),
        (lambda: {k: v for k, v in good().items() if k != "exp"}, "required claim"),
        (lambda: {k: v for k, v in good().items() if k != "aud"}, "required claim"),
    ],
    ids=["expired", "not-yet-valid", "wrong-iss", "wrong-aud", "no-exp", "no-aud"],
)
def test_claims_that_do_not_hold_are_refused(validator, key, payload, message) -> None:
    with pytest.raises(InvalidToken, match=message):
        validator.validate(sign(key, payload()))


def test_wrong_issuer_signed_by_a_trusted_key_is_still_refused(key) -> None:
    # The issuer is trusted, but the token claims another issuer than the one it matches.
    public = KeySet.import_key_set({"keys": [key.as_dict(private=False)]})
    strict = BearerValidator(issuer=ISS, audience=AUD, keys=StaticKeys(public))
    with pytest.raises(InvalidToken):
        strict.validate(sign(key, {**good(), "iss": ISS + "/"}))


def test_unknown_kid_is_refused(validator) -> None:
    stranger = rsa_key("k-unknown")
    with pytest.raises(InvalidToken, match="unknown"):
        validator.validate(sign(stranger, good()))


def test_a_known_kid_with_another_key_fails_the_signature(validator) -> None:
    impostor = rsa_key("k1")  # same kid, different key
    with pytest.raises(InvalidToken, match="signature"):
        validator.validate(sign(impostor, good()))


def test_alg_none_is_refused(validator) -> None:
    with pytest.raises(InvalidToken, match="algorithm is not allowed"):
        validator.validate(alg_none(good(), "k1"))


def test_hs256_signed_with_the_public_key_is_refused(validator, key) -> None:
    token = hs256_with_public_key(good(), key.as_pem(private=False), "k1")
    with pytest.raises(InvalidToken, match="algorithm is not allowed"):
        validator.validate(token)


def test_an_allowed_alg_that_does_not_fit_the_key_is_refused(validator, key) -> None:
    # ES256 is allowed, but kid k1 is an RSA key: no cross-type verification.
    forged = sign(ec_key("k1"), good(), alg="ES256")
    with pytest.raises(InvalidToken):
        validator.validate(forged)


def test_tampered_payload_is_refused(validator, key) -> None:
    token = sign(key, good())
    with pytest.raises(InvalidToken, match="signature"):
        validator.validate(tamper(token, city="milano"))
    with pytest.raises(InvalidToken, match="signature"):
        validator.validate(tamper(token, scope="admin"))


def test_own_tokens_must_be_typed_access_tokens(validator, key) -> None:
    with pytest.raises(InvalidToken, match="at\\+jwt"):
        validator.validate(sign(key, good(), typ="JWT"))
    with pytest.raises(InvalidToken, match="at\\+jwt"):
        validator.validate(sign(key, good(), typ=None))


@pytest.mark.parametrize(
    "token", ["abc", "a.b", "a.b.c", "x" * 9000, "eyJhbGciOiJSUzI1NiJ9.e30", "....."]
)
def test_garbage_is_refused_as_invalid_token(validator, token) -> None:
    with pytest.raises(InvalidToken):
        validator.validate(token)


def test_bearer_header_parsing() -> None:
    assert bearer_token("Bearer abc.def.ghi") == "abc.def.ghi"
    assert bearer_token("bearer abc") == "abc"
    with pytest.raises(MissingToken):
        bearer_token(None)
    with pytest.raises(MissingToken):
        bearer_token("Basic dXNlcjpwYXNz")
    with pytest.raises(InvalidRequest):
        bearer_token("Bearer a b")


def test_scope_and_city_binding() -> None:
    writer = Principal("c", ISS, frozenset({"records:write"}), city="roma")
    require(writer, "records:write", city="roma")
    with pytest.raises(InsufficientScope) as info:
        require(writer, "records:write", city="milano")
    assert info.value.scope == "records:write"
    with pytest.raises(InsufficientScope, match="lacks the scope cases:read"):
        require(writer, "cases:read")
    unbound = Principal("c", ISS, frozenset({"records:write"}))
    with pytest.raises(InsufficientScope, match="not bound"):
        require(unbound, "records:write", city="roma")
    national = Principal("n", ISS, frozenset({"cases:read"}))
    require(national, "cases:read")


def test_www_authenticate_challenges() -> None:
    assert www_authenticate("") == 'Bearer realm="lgnet"'
    assert (
        www_authenticate("insufficient_scope", "the token lacks it", "cases:read")
        == 'Bearer realm="lgnet", error="insufficient_scope", '
        'error_description="the token lacks it", scope="cases:read"'
    )
    assert 'error="invalid_token"' in www_authenticate("invalid_token", 'a "quoted" word')
    assert '\\"quoted\\"' in www_authenticate("invalid_token", 'a "quoted" word')
