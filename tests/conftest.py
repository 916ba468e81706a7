"""Shared fixtures: a clean environment, and databases on SQLite and (optionally) PostgreSQL.

Every storage test takes the ``engine`` (or ``database_url``) fixture and so runs twice: on a
fresh SQLite file and, when ``LGNET_TEST_POSTGRES_URL`` is set, in a fresh PostgreSQL schema
that is dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text

from gateway.settings import get_settings
from gateway.storage import make_engine, normalise_url, upgrade

POSTGRES_ENV = "LGNET_TEST_POSTGRES_URL"


@pytest.fixture(autouse=True)
def clean_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """No LGNET_ setting leaks in from the developer's shell or from another test."""
    for name in list(os.environ):
        if name.startswith("LGNET_") and name != POSTGRES_ENV:
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def postgres_url() -> str | None:
    url = os.environ.get(POSTGRES_ENV)
    return normalise_url(url) if url else None


def _with_search_path(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> Iterator[str]:
    """An empty database: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/lgnet.db"
        return
    base = postgres_url()
    if base is None:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _with_search_path(base, schema)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A database migrated to the newest revision."""
    eng = make_engine(database_url)
    upgrade(eng)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def postgres_schema_of() -> object:
    """Return the schema name a PostgreSQL test URL points at (for pg_dump --schema)."""

    def schema_of(url: str) -> str | None:
        marker = "search_path%3D"
        return url.split(marker, 1)[1].split("&", 1)[0] if marker in url else None

    return schema_of
