"""The client registry: secrets hashed and shown once, registrations checked."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gateway.auth.clients import (
    ClientRegistrationError,
    find_client,
    hash_secret,
    list_clients,
    register_client,
    verify_secret,
)
from gateway.auth.jwks import KeySetError
from gateway.storage import make_engine
from gateway.storage.tables import OAuthClientRow
from tests.gateway.auth.jwt_factory import public_jwks, rsa_key


def test_secret_hashes_verify_and_differ_each_time() -> None:
    first, second = hash_secret("s3cret"), hash_secret("s3cret")
    assert first != second and first.startswith("scrypt$")
    assert verify_secret("s3cret", first) and verify_secret("s3cret", second)
    assert not verify_secret("s3cret!", first)
    assert not verify_secret("s3cret", "plain")
    assert not verify_secret("s3cret", "bcrypt$1$2$3$4$5")


def test_a_secret_client_gets_a_secret_once_and_only_its_hash_is_stored(engine) -> None:
    new = register_client(engine, name="Roma welfare", scopes=["records:write"], city="roma")
    assert new.client_id.startswith("roma-welfare-") and new.secret
    with engine.connect() as connection:
        stored = connection.execute(select(OAuthClientRow.secret_hash)).scalar_one()
        client, secret_hash = find_client(connection, new.client_id)
        (listed,) = list_clients(connection)
    assert new.secret not in stored and verify_secret(new.secret, stored)
    assert client == listed
    assert client.scopes == {"records:write"} and client.city == "roma"
    assert client.has_secret and secret_hash == stored
    assert new.secret not in repr(client)


def test_a_key_client_has_no_secret(engine) -> None:
    jwks = public_jwks(rsa_key("c1"))
    new = register_client(engine, name="National platform", scopes=["cases:read"], jwks=jwks)
    assert new.secret is None
    with engine.connect() as connection:
        client, secret_hash = find_client(connection, new.client_id)
    assert secret_hash is None and client.key_set() is not None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "", "scopes": ["cases:read"]}, "--name"),
        ({"name": "x<script>", "scopes": ["cases:read"]}, "--name"),
        ({"name": "n", "scopes": []}, "--scope"),
        ({"name": "n", "scopes": ["cases:read", "root"]}, "--scope"),
        ({"name": "n", "scopes": ["records:write"]}, "--city"),
        ({"name": "n", "scopes": ["cases:read"], "city": "atlantis"}, "--city"),
    ],
)
def test_registrations_are_checked(kwargs, message) -> None:
    engine = make_engine("sqlite://")  # refused before any query
    with pytest.raises(ClientRegistrationError, match=message):
        register_client(engine, **kwargs)


def test_a_jwks_with_private_keys_is_refused() -> None:
    engine = make_engine("sqlite://")
    private = {"keys": [dict(rsa_key("c1").as_dict(private=True))]}
    with pytest.raises(KeySetError, match="private key material"):
        register_client(engine, name="n", scopes=["cases:read"], jwks=private)
