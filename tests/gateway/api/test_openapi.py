"""``specs/openapi.json`` is the app's document, and it keeps the BRIEF §9 contract."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from gateway.api.openapi import openapi_document, openapi_path, render
from gateway.cli import app as cli

CONTRACT = {
    ("post", "/oauth2/token"): None,
    ("get", "/oauth2/jwks"): None,
    ("get", "/.well-known/oauth-authorization-server"): None,
    ("post", "/v1/cities/{city}/records"): "records:write",
    ("post", "/v1/cities/{city}/fhir"): "records:write",
    ("post", "/v1/cities/{city}/files/{source}"): "records:write",
    ("get", "/v1/cases"): "cases:read",
    ("get", "/v1/summaries"): "summaries:read",
    ("get", "/v1/status"): "admin",
    ("get", "/healthz"): None,
    ("get", "/readyz"): None,
    ("get", "/metrics"): None,
}


def test_the_checked_in_document_is_fresh() -> None:
    assert openapi_path().read_text(encoding="utf-8") == render(), (
        "specs/openapi.json is stale: run `lgnet openapi export`"
    )


def test_paths_and_scopes_are_the_contract() -> None:
    document = openapi_document()
    for (method, path), scope in CONTRACT.items():
        operation = document["paths"][path][method]
        security = operation.get("security")
        if scope is None:
            assert not security, path
        else:
            assert security == [{"oauth2": [scope]}], path
    flows = document["components"]["securitySchemes"]["oauth2"]["flows"]
    assert flows["clientCredentials"]["tokenUrl"] == "/oauth2/token"


def test_push_bodies_and_problems_are_documented() -> None:
    document = openapi_document()
    body = document["paths"]["/v1/cities/{city}/records"]["post"]["requestBody"]["content"]
    assert body["application/json"]["schema"]["items"] == {
        "$ref": "#/components/schemas/IntakeRecord"
    }
    assert "IntakeRecord" in document["components"]["schemas"]
    assert "HTTPValidationError" not in json.dumps(document)


def test_export_command_checks_freshness(tmp_path) -> None:
    runner = CliRunner()
    target = tmp_path / "openapi.json"
    assert runner.invoke(cli, ["openapi", "export", "--out", str(target)]).exit_code == 0
    assert runner.invoke(cli, ["openapi", "export", "--check", "--out", str(target)]).exit_code == 0
    target.write_text("{}")
    result = runner.invoke(cli, ["openapi", "export", "--check", "--out", str(target)])
    assert result.exit_code == 1
