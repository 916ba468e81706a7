"""A token issuer on a database shared by the module's tests (both backends)."""

from __future__ import annotations

import pytest

from gateway.auth.jwks import DatabaseSigningKeys
from gateway.auth.rfc6749 import TokenIssuer
from tests.gateway.api.databases import BACKENDS, migrated_database

ISSUER = "https://gateway.test"
AUDIENCE = "lgnet-gateway"


@pytest.fixture(scope="module", params=BACKENDS)
def shared_engine(request, tmp_path_factory):
    with migrated_database(request.param, tmp_path_factory.mktemp("db")) as (_, engine):
        yield engine


@pytest.fixture(scope="module")
def issuer(shared_engine) -> TokenIssuer:
    keys = DatabaseSigningKeys(shared_engine, secret=b"test-secret-0123456789", overlap_seconds=700)
    keys.ensure()
    return TokenIssuer(
        engine=shared_engine, keys=keys, issuer=ISSUER, audience=AUDIENCE, ttl_seconds=600
    )
