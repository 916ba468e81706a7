"""Property-based tests generated from the OpenAPI document: no request, however odd, makes
the gateway answer 5xx. Bounded (a few dozen examples per operation) to stay fast."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from gateway.api import create_app
from gateway.api.openapi import openapi_path
from gateway.auth.clients import register_client
from tests.gateway.api.conftest import make_settings
from tests.gateway.api.databases import migrated_database

MAX_EXAMPLES = 25

# Bodies documented as strings (NDJSON, CSV) are sent as text; FHIR JSON as JSON.
schemathesis.serializer.alias(["application/x-ndjson", "text/csv"], "text/plain")
schemathesis.serializer.alias("application/fhir+json", "application/json")


@pytest.fixture(scope="module")
def gateway_for_fuzzing(tmp_path_factory):
    with migrated_database("sqlite", tmp_path_factory.mktemp("fuzz")) as (url, engine):
        app = create_app(make_settings(url, max_body_bytes=64 * 1024), engine)
        client = register_client(
            engine,
            name="Fuzzer",
            scopes=["records:write", "cases:read", "summaries:read", "admin"],
            city="roma",
        )
        yield app, client


@pytest.fixture(scope="module")
def bearer(gateway_for_fuzzing) -> str:
    from fastapi.testclient import TestClient

    app, client = gateway_for_fuzzing
    with TestClient(app) as http:
        response = http.post(
            "/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(client.client_id, client.secret),
        )
    return f"Bearer {response.json()['access_token']}"


# The checked-in document (kept equal to the app's by test_openapi.py). Loaded eagerly: the
# lazy ``from_fixture`` loader of schemathesis 4 does not run on pytest 9.
# The coverage phase alone sends ~1,000 boundary cases to the push endpoint; the examples and
# fuzzing phases (valid and invalid data) keep the run bounded.
CONFIG = schemathesis.Config.from_dict(
    {
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES},
    }
)
schema = schemathesis.openapi.from_path(openapi_path(), config=CONFIG)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_request_makes_a_server_error(case, gateway_for_fuzzing, bearer) -> None:
    app, _ = gateway_for_fuzzing
    if "city" in (case.path_parameters or {}):
        case.path_parameters["city"] = "roma"  # the token's city: reach the pipeline
    case.call_and_validate(app=app, headers={"Authorization": bearer}, checks=[not_a_server_error])
