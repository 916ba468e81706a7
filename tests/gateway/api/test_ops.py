"""Health, readiness, metrics, status, the scheduler hook and problem documents."""

from __future__ import annotations

import re
import sys
import types
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import insert

from gateway.api import create_app
from gateway.api.models import StatusReport
from gateway.storage import make_engine
from gateway.storage.tables import CursorRow
from tests.gateway.api.conftest import intake, make_settings, person
from tests.gateway.auth.jwt_factory import claims, rsa_key, sign


def test_health_and_readiness(gateway) -> None:
    assert gateway.client.get("/healthz").json() == {"status": "ok", "checks": {}}
    ready = gateway.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True, "migrations": True}


def test_an_unmigrated_database_is_not_ready(tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/empty.db"
    with TestClient(create_app(make_settings(url), make_engine(url))) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert "migrations" in response.json()["detail"]
        assert client.get("/healthz").status_code == 200


def test_metrics_label_route_templates_and_slugs_only(gateway) -> None:
    headers = gateway.auth("records:write", city="roma")
    gateway.client.post(
        "/v1/cities/roma/records", json=[intake("roma", 4000), {"source": {}}], headers=headers
    )
    gateway.client.get("/no/such/path/RSSMRA80A01H501U")
    with gateway.engine.begin() as connection:
        connection.execute(
            insert(CursorRow),
            [
                {
                    "city": "roma",
                    "source": "welfare-soap",
                    "cursor": "p=1",
                    "updated_at": datetime.now(UTC),
                }
            ],
        )
    text = gateway.client.get("/metrics").text
    assert 'route="/v1/cities/{city}/records"' in text
    assert 'route="unmatched"' in text
    assert re.search(
        r'lgnet_records_total\{city="roma",outcome="rejected",source="push"\} \d', text
    )
    assert 'lgnet_sync_lag_seconds{city="roma",source="welfare-soap"}' in text
    assert re.search(r'lgnet_quarantine_records\{city="roma",source="push"\} \d', text)
    assert "RSSMRA80A01H501U" not in text and person(4000)["family_name"] not in text
    for labels in re.findall(r"\{([^}]*)\}", text):
        for value in re.findall(r'="([^"]*)"', labels):
            assert re.fullmatch(r"[a-z0-9_./{}:+-]*|[A-Z]+|\d+(\.\d+)?|\+Inf", value), value


def test_status_for_operators(gateway) -> None:
    response = gateway.client.get("/v1/status", headers=gateway.auth("admin"))
    assert response.status_code == 200
    report = StatusReport.model_validate(response.json())
    assert report.database["up_to_date"] is True
    assert [key.active for key in report.signing_keys].count(True) == 1
    assert "p=1" not in response.text  # cursor values are not shown
    assert gateway.client.get("/v1/status", headers=gateway.auth("cases:read")).status_code == 403


def test_unknown_routes_and_methods_are_problems(gateway) -> None:
    missing = gateway.client.get("/v2/anything")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    wrong_method = gateway.client.delete("/v1/cases")
    assert wrong_method.status_code == 405
    invalid = gateway.client.get(
        "/v1/cases", params={"limit": "RSSMRA80A01H501U"}, headers=gateway.auth("cases:read")
    )
    assert invalid.status_code == 422
    assert invalid.json()["errors"] == [{"field": "query.limit", "rule": "int_parsing"}]
    assert "RSSMRA80A01H501U" not in invalid.text  # FastAPI would echo the input


def test_the_scheduler_runs_inside_the_app_when_on(gateway, monkeypatch) -> None:
    calls: list[str] = []
    fake = types.ModuleType("gateway.sync.scheduler")
    fake.start = lambda state: calls.append(f"start:{state.settings.scheduler}")  # type: ignore[attr-defined]
    fake.stop = lambda: calls.append("stop")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gateway.sync.scheduler", fake)
    for setting in ("off", "on"):
        settings = gateway.settings.model_copy(update={"scheduler": setting})
        with TestClient(create_app(settings, gateway.engine)):
            pass
    assert calls == ["start:on", "stop"]


def test_an_unreachable_database_is_503_with_retry_after() -> None:
    url = "postgresql+psycopg://lgnet@127.0.0.1:1/nowhere"  # nothing listens on port 1
    settings = make_settings(url)
    with TestClient(create_app(settings, make_engine(url, pool_pre_ping=False))) as client:
        token = sign(rsa_key("k"), claims(iss=settings.issuer, aud=settings.audience))
        response = client.get("/v1/cases", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert response.json()["type"] == "urn:lgnet:problem:database-unavailable"
        assert "nowhere" not in response.text
        assert client.get("/readyz").status_code == 503
