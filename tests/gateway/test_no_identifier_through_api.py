"""No identifier at rest, through the pipeline and the HTTP API (BRIEF §5, issue 3 item 5).

The 1,000 distinctive synthetic people of ``test_no_identifier_at_rest`` are pushed as intake
records — names, birth dates, fiscal, provisional and STP codes, phone numbers as local ids —
by a city's client; some records are malformed with a *name in a code field*, so they are
rejected and quarantined. Then the national platform pulls the whole case feed, the
summaries, the operator reads the status and the metrics, and the operator's CLI lists the
quarantine. Every response body, CLI output and log line, and the database itself, must hold
none of their identifiers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from gateway.api import create_app
from gateway.auth.clients import register_client
from gateway.cli import app as cli
from gateway.settings import get_settings, load_settings
from gateway.storage.tables import CaseRow, QuarantineRow

from .privacy.seeding import SyntheticPerson
from .test_no_identifier_at_rest import PEOPLE, Exposure, exposure  # noqa: F401

MAPPINGS = Path(__file__).parent / "api" / "mappings"
BATCH = 250


def _record(person: SyntheticPerson, n: int, *, broken: bool) -> dict[str, Any]:
    return {
        "source": {"city": "roma", "source": "welfare", "system": "welfare", "record_id": f"r{n}"},
        "subject": {
            "identifiers": {
                "fiscal_code": person.fiscal_code,
                "provisional_fiscal_code": person.provisional_code if n % 2 else None,
                "stp_code": person.stp_code if n % 5 == 0 else None,
                "local_id": person.phone,
            },
            "family_name": person.family_name,
            "given_names": person.given_name,
            "sex": person.sex,
            "birth_date": person.birth_date.isoformat(),
        },
        "case": {
            "opened_on": "2025-03-01",
            # A person's name typed into a code field: rejected, and never echoed.
            "intake_channel": person.family_name if broken else "one_stop_shop",
        },
        "services": [{"type": "housing_support", "start": "2025-03-02"}],
    }


def _token(client: TestClient, engine: Engine, scopes: list[str], city: str | None) -> str:
    new = register_client(engine, name="privacy test", scopes=scopes, city=city)
    response = client.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(new.client_id, new.secret or ""),
    )
    assert response.status_code == 200
    return str(response.json()["access_token"])


def test_pipeline_and_api_keep_and_show_no_identifier(
    engine: Engine, database_url: str, exposure: Exposure, monkeypatch  # noqa: F811
) -> None:
    settings = load_settings(
        database_url=database_url,
        issuer="http://testserver",
        scheduler="off",
        rate_limit_per_minute=100_000,
        signing_key_secret="test-signing-secret-0123456789",
        mappings_dir=MAPPINGS,
    )
    with TestClient(create_app(settings, engine)) as client:
        push = {"Authorization": f"Bearer {_token(client, engine, ['records:write'], 'roma')}"}
        broken = set(range(0, len(PEOPLE), 50))
        records = [_record(p, n, broken=n in broken) for n, p in enumerate(PEOPLE)]
        outcomes: dict[str, int] = {}
        for start in range(0, len(records), BATCH):
            response = client.post(
                "/v1/cities/roma/records", json=records[start : start + BATCH], headers=push
            )
            assert response.status_code in (200, 207), response.text
            exposure.output("push response", response.content)
            for result in response.json()["results"]:
                outcomes[result["outcome"]] = outcomes.get(result["outcome"], 0) + 1
        assert outcomes.get("rejected") == len(broken)
        assert outcomes.get("accepted") == len(PEOPLE) - len(broken)

        national = {
            "Authorization": "Bearer "
            + _token(client, engine, ["cases:read", "summaries:read", "admin"], None)
        }
        after, pulled = None, 0
        while True:
            params = {"limit": 200, **({"after": after} if after else {})}
            response = client.get("/v1/cases", params=params, headers=national)
            assert response.status_code == 200
            exposure.output("case feed", response.content)
            page = orjson.loads(response.content)
            pulled += len(page["items"])
            after = page.get("next")
            if not page["items"] or not after:
                break
        assert pulled == len(PEOPLE) - len(broken)
        for path in ("/v1/summaries", "/v1/status", "/metrics"):
            response = client.get(path, headers=national)
            assert response.status_code == 200, path
            exposure.output(path, response.content)

    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(QuarantineRow)).scalar() == len(
            broken
        )
        assert connection.execute(select(func.count()).select_from(CaseRow)).scalar() == pulled

    monkeypatch.setenv("LGNET_DATABASE_URL", database_url)
    get_settings.cache_clear()
    outcome = CliRunner().invoke(cli, ["quarantine", "list"])
    assert outcome.exit_code == 0, outcome.output
    exposure.output("quarantine list", outcome.output)
    exposure.assert_clean(engine, database_url)
