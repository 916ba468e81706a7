"""``GET /v1/summaries``: JSON and CSV, scope, city-bound tokens, problems, audit, privacy."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.api import create_app
from gateway.storage.tables import AuditEntryRow
from tests.gateway.api.conftest import Gateway, make_settings
from tests.gateway.api.databases import BACKENDS, migrated_database
from tests.gateway.summaries.builders import Case, Service, add_cases

URL = "/v1/summaries"


@pytest.fixture(scope="module", params=BACKENDS)
def gateway(request, tmp_path_factory):
    with migrated_database(request.param, tmp_path_factory.mktemp("api")) as (url, engine):
        settings = make_settings(url)
        client = TestClient(create_app(settings, engine))
        gateway = Gateway(client.app, client, engine, settings)
        roma = [
            Case(f"pid-roma-{n:02d}", "roma", services=[Service("housing_support")] * (n < 6))
            for n in range(12)
        ]
        add_cases(engine, [*roma, Case("pid-mi-1", "milano"), Case("pid-mi-2", "milano")])
        with client:
            yield gateway


def cells(body: dict) -> dict[tuple[str, ...], dict]:
    return {
        (c["period"], c["kpi"], c["area"], c["dimension"], c["category"]): c for c in body["cells"]
    }


def test_json_tables_with_suppression_and_progress(gateway) -> None:
    response = gateway.client.get(URL, params={"by": "sex"}, headers=gateway.auth("summaries:read"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    found = cells(body)
    tic = ("programme", "taken_in_charge")
    assert found[(*tic, "national", "total", "total")]["value"] == 14
    assert found[(*tic, "milano", "total", "total")] == {
        "period": "programme",
        "kpi": "taken_in_charge",
        "area": "milano",
        "dimension": "total",
        "category": "total",
        "value": None,
        "suppressed": "primary",
    }
    assert found[(*tic, "roma", "total", "total")]["suppressed"] == "secondary"
    bologna = found[(*tic, "bologna", "total", "total")]
    assert (bologna["value"], bologna["suppressed"]) == (0, None)
    assert body["k"] == 5 and body["granularity"] == "programme"
    assert body["suppressed_primary"] >= 1 and body["suppressed_secondary"] >= 1
    progress = {item["kpi"]: item for item in body["progress"]}
    assert progress["taken_in_charge"] == {
        "kpi": "taken_in_charge",
        "target": 3000,
        "comparison": "more_than",
        "value": 14,
        "suppressed": None,
        "ratio": round(14 / 3000, 4),
    }
    assert progress["housing_support"]["value"] == 6
    # Aggregates only: no pseudonym or case id anywhere in the answer.
    assert "pid-" not in response.text and "case-" not in response.text


def test_csv_has_one_row_per_cell(gateway) -> None:
    headers = {**gateway.auth("summaries:read"), "Accept": "text/csv"}
    response = gateway.client.get(
        URL,
        params={"by": "quarter", "from": "2025-01-01", "to": "2025-06-30", "city": "roma,national"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == [
        "period",
        "kpi",
        "area",
        "dimension",
        "category",
        "value",
        "suppressed",
    ]
    # 2 quarters × 7 KPIs × 2 areas, then the national programme totals of the 5 targets.
    assert len(rows) == 2 * 7 * 2 + 5
    q1 = {(r["kpi"], r["area"]): r for r in rows if r["period"] == "2025-Q1"}
    assert q1[("taken_in_charge", "roma")]["value"] == "12"
    assert q1[("taken_in_charge", "national")]["value"] == "14"
    assert q1[("civic_projects_signed", "roma")]["value"] == "0"
    assert {r["period"] for r in rows[-5:]} == {"programme"}
    for row in rows:
        assert (row["value"] == "") == (row["suppressed"] in ("primary", "secondary"))


def test_summaries_need_the_scope(gateway) -> None:
    assert gateway.client.get(URL).status_code == 401
    response = gateway.client.get(URL, headers=gateway.auth("cases:read"))
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")


def test_a_city_bound_token_reads_its_city_only(gateway) -> None:
    headers = gateway.auth("summaries:read", city="roma")
    response = gateway.client.get(URL, headers=headers)
    assert response.status_code == 200
    assert {c["area"] for c in response.json()["cells"]} == {"roma"}
    assert gateway.client.get(URL, params={"city": "national"}, headers=headers).status_code == 403


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"by": "week"}, "by"),
        ({"by": "month,quarter"}, "by"),
        ({"from": "2025-01-01"}, "from"),
        ({"by": "year", "from": "2025-05-01", "to": "2025-01-01"}, "to"),
        ({"city": "atlantis"}, "city"),
        ({"by": "month", "from": "0001-01-01", "to": "9999-12-31"}, "to"),
    ],
)
def test_bad_parameters_are_problems_naming_the_parameter(gateway, params, parameter) -> None:
    response = gateway.client.get(URL, params=params, headers=gateway.auth("summaries:read"))
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"] == [{"field": f"query.{parameter}", "rule": "invalid"}]
    assert "atlantis" not in response.text and "week" not in response.text


def test_every_read_is_audited(gateway) -> None:
    headers = gateway.auth("summaries:read")
    assert gateway.client.get(URL, headers=headers).status_code == 200
    with gateway.engine.connect() as conn:
        entry = conn.execute(
            select(AuditEntryRow.action, AuditEntryRow.count)
            .order_by(AuditEntryRow.seq.desc())
            .limit(1)
        ).one()
    assert entry.action == "GET /v1/summaries" and entry.count == 7 * 19
