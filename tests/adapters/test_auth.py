"""adapters.auth: RFC 7523 client assertions and the auth option models."""

from __future__ import annotations

import pytest
from joserfc import jwk, jwt
from pydantic import TypeAdapter

from adapters.auth import AuthOptions, PrivateKeyJwtAuth, client_assertion
from adapters.auth.rfc7523 import load_private_key

RSA = jwk.RSAKey.generate_key(2048, private=True, parameters={"kid": "kid-from-key"})


def test_assertion_claims_and_header() -> None:
    token = client_assertion(
        client_id="lgnet-roma",
        audience="https://pdnd.example/token",
        key=RSA,
        kid="k-2024",
        now=1_700_000_000,
        jti="j-1",
        purpose_id="purpose-9",
        lifetime=120,
    )
    decoded = jwt.decode(token, jwk.import_key(RSA.as_dict(private=False)), algorithms=["RS256"])
    assert decoded.header == {"alg": "RS256", "typ": "JWT", "kid": "k-2024"}
    assert decoded.claims == {
        "iss": "lgnet-roma",
        "sub": "lgnet-roma",
        "aud": "https://pdnd.example/token",
        "jti": "j-1",
        "iat": 1_700_000_000,
        "exp": 1_700_000_120,
        "purposeId": "purpose-9",
    }


def test_assertions_are_unique_and_use_the_key_id_by_default() -> None:
    a, b = (client_assertion(client_id="c", audience="a", key=RSA) for _ in range(2))
    da = jwt.decode(a, jwk.import_key(RSA.as_dict(private=False)))
    db = jwt.decode(b, jwk.import_key(RSA.as_dict(private=False)))
    assert da.claims["jti"] != db.claims["jti"]
    assert da.header["kid"] == "kid-from-key" and "purposeId" not in da.claims


@pytest.mark.parametrize("alg", ["HS256", "none"])
def test_symmetric_and_none_algorithms_are_refused(alg: str) -> None:
    with pytest.raises(ValueError, match="asymmetric"):
        client_assertion(client_id="c", audience="a", key=RSA, algorithm=alg)
    with pytest.raises(ValueError, match="algorithm must be one of"):
        PrivateKeyJwtAuth(token_url="t", client_id="c", private_key="k", algorithm=alg)  # type: ignore[arg-type]


def test_load_private_key_forms() -> None:
    ec = jwk.ECKey.generate_key("P-256", private=True)
    assert isinstance(load_private_key(ec.as_pem(private=True).decode()), jwk.ECKey)
    assert isinstance(load_private_key(RSA.as_dict(private=True)), jwk.RSAKey)
    with pytest.raises(ValueError, match="not a readable"):
        load_private_key("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----")
    with pytest.raises(ValueError, match="RSA or EC private key"):
        load_private_key(RSA.as_dict(private=False))


def test_auth_options_are_a_discriminated_union_with_masked_secrets() -> None:
    parse = TypeAdapter(AuthOptions).validate_python
    auth = parse({"type": "basic", "username": "u", "password": "pw-secret"})
    assert "pw-secret" not in repr(auth) and "pw-secret" not in auth.model_dump_json()
    assert parse({"type": "none"}).type == "none"
    with pytest.raises(ValueError, match="does not match any of the expected tags"):
        parse({"type": "kerberos"})
    with pytest.raises(ValueError, match="Extra inputs"):
        parse({"type": "api_key", "key": "k", "query": "x"})
