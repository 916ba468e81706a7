"""A migrated database shared by the tests of one module (SQLite, and PostgreSQL when
``LGNET_TEST_POSTGRES_URL`` is set): migrating for every test would cost most of the run.

Tests that share it must not assume an empty database: they register their own clients and
read the case feed from a cursor taken when they start.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from gateway.storage import make_engine, upgrade
from tests.conftest import POSTGRES_ENV, _with_search_path, postgres_url

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@contextmanager
def migrated_database(kind: str, folder: Path) -> Iterator[tuple[str, Engine]]:
    if kind == "sqlite":
        url = f"sqlite:///{folder}/lgnet.db"
        engine = make_engine(url)
        upgrade(engine)
        try:
            yield url, engine
        finally:
            engine.dispose()
        return
    base = postgres_url()
    if base is None:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = _with_search_path(base, schema)
    engine = make_engine(url)
    try:
        upgrade(engine)
        yield url, engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
