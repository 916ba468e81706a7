"""Key sets: own signing keys with rotation and overlap; trusted issuers' keys from a file or
a ``jwks_uri`` served over loopback HTTP, refreshed on an unknown ``kid``."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OKPKey
from pydantic import SecretStr
from sqlalchemy import select, update

from gateway.auth.jwks import (
    DatabaseSigningKeys,
    FileKeys,
    FileSigningKeys,
    KeySetError,
    RemoteKeys,
    check_jwks_uri,
    jws_registry,
    load_public_key_set,
    signing_key_store,
)
from gateway.auth.rfc6750 import BearerValidator
from gateway.settings import SettingsError, load_settings
from gateway.storage import make_engine
from gateway.storage.auth import SigningKeyRow
from tests.gateway.auth.jwt_factory import JwksServer, claims, public_jwks, rsa_key, sign

SECRET = b"a-test-signing-key-secret-0123456789"


# --- trusted issuers' keys -------------------------------------------------------------


def test_remote_keys_are_fetched_again_for_an_unknown_kid() -> None:
    first, second = rsa_key("a"), rsa_key("b")
    server = JwksServer([first])
    with server.running():
        keys = RemoteKeys(server.url, cache_seconds=3600, cooldown_seconds=0)
        assert keys.key("a") is not None
        assert server.hits == 1
        assert keys.key("a") is not None
        assert server.hits == 1  # cached
        server.publish(first, second)  # the issuer rotates
        assert keys.key("b") is not None
        assert server.hits == 2


def test_unknown_kids_do_not_hammer_the_issuer() -> None:
    server = JwksServer([rsa_key("a")])
    with server.running():
        keys = RemoteKeys(server.url, cache_seconds=3600, cooldown_seconds=60)
        assert keys.key("a") is not None
        for _ in range(5):
            assert keys.key("nope") is None
        assert server.hits == 1


def test_an_unreachable_jwks_uri_gives_no_key() -> None:
    server = JwksServer([rsa_key("a")])
    url = server.url
    server.server.server_close()  # nothing listens there any more
    assert RemoteKeys(url, cooldown_seconds=0).key("a") is None


@pytest.mark.parametrize(
    "uri", ["http://idp.example/jwks", "ftp://127.0.0.1/jwks", "file:///etc/jwks.json", "jwks"]
)
def test_jwks_uri_must_be_https_except_on_loopback(uri: str) -> None:
    with pytest.raises(KeySetError, match="https"):
        check_jwks_uri(uri)


@pytest.mark.parametrize(
    "uri", ["https://idp.example/jwks", "http://127.0.0.1:8080/jwks", "http://localhost/j"]
)
def test_jwks_uri_allowed(uri: str) -> None:
    assert check_jwks_uri(uri) == uri


def test_file_keys_are_read_again_when_the_file_changes(tmp_path) -> None:
    first, second = rsa_key("a"), rsa_key("b")
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(public_jwks(first)))
    keys = FileKeys(path)
    assert keys.key("a") is not None and keys.key("b") is None
    path.write_text(json.dumps(public_jwks(second)))
    stamp = time.time() + 5
    os.utime(path, (stamp, stamp))
    assert keys.key("b") is not None and keys.key("a") is None


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({}, "'keys' list"),
        ({"keys": []}, "empty"),
        ({"keys": ["x"]}, "not an object"),
        ({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}]}, "kty must be RSA, EC or OKP"),
        ("private", "private key material"),
        ("no-kid", "kid is missing"),
    ],
)
def test_public_key_sets_are_checked(document, message: str) -> None:
    if document == "private":
        document = {"keys": [dict(rsa_key("p").as_dict(private=True))]}
    elif document == "no-kid":
        jwk = dict(rsa_key("x").as_dict(private=False))
        del jwk["kid"]
        document = {"keys": [jwk]}
    with pytest.raises(KeySetError, match=message):
        load_public_key_set(document)


def test_eddsa_and_ed25519_verify_without_warnings() -> None:
    key = OKPKey.generate_key("Ed25519", parameters={"kid": "ed"})
    validator = BearerValidator(issuer="i", audience="a", keys=_static(key))
    for alg in ("EdDSA", "Ed25519"):
        token = jwt.encode(
            {"alg": alg, "kid": "ed", "typ": "at+jwt"},
            claims(iss="i", aud="a"),
            key,
            registry=jws_registry(alg),
        )
        assert validator.validate(token).client_id == "test-client"


def _static(key):
    from gateway.auth.jwks import StaticKeys

    return StaticKeys(KeySet.import_key_set({"keys": [key.as_dict(private=False)]}))


# --- own signing keys ------------------------------------------------------------------


def test_database_keys_rotate_with_overlap(engine) -> None:
    keys = DatabaseSigningKeys(engine, secret=SECRET, overlap_seconds=600)
    keys.ensure()
    old = keys.active().kid
    token = sign(keys.active().key, claims(iss="i", aud="a"))
    new = keys.rotate()
    assert new != old
    assert keys.active().kid == new
    published = [jwk["kid"] for jwk in keys.published()]
    assert published == [new, old]  # the old key still verifies tokens it signed
    validator = BearerValidator(issuer="i", audience="a", keys=keys)
    assert validator.validate(token).client_id == "test-client"
    for jwk in keys.published():
        assert not {"d", "p", "q"} & set(jwk)


def test_a_retired_key_leaves_the_jwks_after_the_overlap(engine) -> None:
    keys = DatabaseSigningKeys(engine, secret=SECRET, overlap_seconds=600, refresh_seconds=0)
    keys.ensure()
    old = keys.active().kid
    new = keys.rotate()
    with engine.begin() as connection:
        connection.execute(
            update(SigningKeyRow)
            .where(SigningKeyRow.kid == old)
            .values(retired_at=datetime.now(UTC) - timedelta(hours=1))
        )
    assert [jwk["kid"] for jwk in keys.published()] == [new]
    assert keys.key(old) is None


def test_another_replica_sees_a_rotation(engine) -> None:
    here = DatabaseSigningKeys(
        engine, secret=SECRET, overlap_seconds=600, unknown_kid_cooldown_seconds=0
    )
    there = DatabaseSigningKeys(engine, secret=SECRET, overlap_seconds=600)
    here.ensure()
    there.ensure()
    assert here.active().kid == there.active().kid
    new = there.rotate()
    assert here.key(new) is not None  # unknown kid: the table is read again


def test_private_keys_are_encrypted_at_rest(engine) -> None:
    keys = DatabaseSigningKeys(engine, secret=SECRET, overlap_seconds=600)
    keys.ensure()
    with engine.connect() as connection:
        stored = connection.execute(select(SigningKeyRow.private_key)).scalar_one()
    assert b"ENCRYPTED PRIVATE KEY" in stored
    wrong = DatabaseSigningKeys(engine, secret=b"another-secret", overlap_seconds=600)
    with pytest.raises(SettingsError, match="LGNET_SIGNING_KEY_SECRET"):
        wrong.active()


def test_the_development_secret_is_refused_outside_development() -> None:
    engine = make_engine("sqlite://")
    production = load_settings(
        env="production",
        pseudonym_key="p" * 40,
        quarantine_key="MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=",
    )
    with pytest.raises(SettingsError, match="LGNET_SIGNING_KEY_SECRET"):
        signing_key_store(engine, production)
    accepted = production.model_copy(update={"signing_key_secret": SecretStr("x" * 40)})
    assert isinstance(signing_key_store(engine, accepted), DatabaseSigningKeys)


def test_file_signing_keys_sign_with_the_first_key(tmp_path) -> None:
    first, second = rsa_key("new"), rsa_key("old")
    path = tmp_path / "signing.json"
    path.write_text(
        json.dumps({"keys": [first.as_dict(private=True), second.as_dict(private=True)]})
    )
    keys = FileSigningKeys(path)
    assert keys.active().kid == "new"
    assert [jwk["kid"] for jwk in keys.published()] == ["new", "old"]
    assert all("d" not in jwk for jwk in keys.published())
    public_only = tmp_path / "public.json"
    public_only.write_text(json.dumps(public_jwks(first)))
    with pytest.raises(SettingsError, match="private RSA"):
        FileSigningKeys(public_only)
