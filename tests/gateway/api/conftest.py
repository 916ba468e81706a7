"""An app on a database shared by the module's tests, a TestClient, and synthetic records."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from codicefiscale import codicefiscale
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.api import create_app
from gateway.auth.clients import NewClient, register_client
from gateway.settings import Settings, load_settings
from tests.gateway.api.databases import BACKENDS, migrated_database

ISSUER = "http://testserver"
# Source definitions of the tests: a FHIR default mapping and Roma's welfare CSV export.
MAPPINGS = Path(__file__).parent / "mappings"

FAMILY = ["Bianchi", "Diallo", "El Amrani", "Popescu", "Haque", "Mendoza", "Kovalenko", "Traore"]
GIVEN = ["Anna", "Amadou", "Youssef", "Ioana", "Rahim", "Lucia", "Olena", "Moussa"]
PLACES = ["Roma", "Senegal", "Marocco", "Romania", "Bangladesh", "Peru", "Ucraina", "Mali"]


@cache
def person(n: int) -> dict[str, Any]:
    """A synthetic person, the same for the same ``n``."""
    i = n % len(FAMILY)
    sex = "F" if i in (0, 3, 5, 6) else "M"
    day, month, year = 1 + n % 28, 1 + n % 12, 1960 + n % 40
    birth = f"{day:02d}/{month:02d}/{year}"
    fiscal_code = codicefiscale.encode(
        lastname=f"{FAMILY[i]}{'x' * (n // len(FAMILY) % 3)}",
        firstname=GIVEN[i],
        gender=sex,
        birthdate=birth,
        birthplace=PLACES[i],
    )
    return {
        "identifiers": {"fiscal_code": fiscal_code},
        "family_name": FAMILY[i],
        "given_names": GIVEN[i],
        "sex": sex,
        "birth_date": f"{year}-{month:02d}-{day:02d}",
    }


def intake(city: str, n: int, *, record_id: str | None = None, **case: Any) -> dict[str, Any]:
    """An intake record of person ``n`` in ``city``'s welfare system."""
    return {
        "source": {
            "city": city,
            "source": "welfare",
            "system": "welfare",
            "record_id": record_id or f"rec-{n}",
        },
        "subject": person(n),
        "case": {"opened_on": "2025-03-01", "intake_channel": "mobile_unit", **case},
        "services": [{"type": "housing_support", "start": "2025-03-02"}],
    }


@dataclass
class Gateway:
    app: FastAPI
    client: TestClient
    engine: Engine
    settings: Settings

    def register(self, *scopes: str, city: str | None = None, **kwargs: Any) -> NewClient:
        return register_client(
            self.engine, name="Test client", scopes=list(scopes), city=city, **kwargs
        )

    def token(self, *scopes: str, city: str | None = None) -> str:
        new = self.register(*scopes, city=city)
        response = self.client.post(
            "/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(new.client_id, new.secret or ""),
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def auth(self, *scopes: str, city: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(*scopes, city=city)}"}

    def app_with(self, **overrides: Any) -> TestClient:
        """Another app on the same database with some settings changed."""
        settings = self.settings.model_copy(update=overrides)
        return TestClient(create_app(settings, self.engine))


def make_settings(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": url,
        "issuer": ISSUER,
        "scheduler": "off",
        "rate_limit_per_minute": 100_000,
        "signing_key_secret": "test-signing-secret-0123456789",
        "mappings_dir": MAPPINGS,
        **overrides,
    }
    return load_settings(**values)


@pytest.fixture(scope="module", params=BACKENDS)
def gateway(request, tmp_path_factory) -> Gateway:
    with migrated_database(request.param, tmp_path_factory.mktemp("api")) as (url, engine):
        settings = make_settings(url)
        app = create_app(settings, engine)
        with TestClient(app) as client:
            yield Gateway(app, client, engine, settings)


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
