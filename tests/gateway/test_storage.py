"""Storage: migrations equal the models (no drift), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, Integer, MetaData, Table, insert, inspect, select, text

from gateway.storage import current_revision, head_revision, is_up_to_date, make_engine
from gateway.storage.schema import metadata
from gateway.storage.tables import CursorRow, FeedStateRow


def drift(engine: Engine, target: MetaData) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, target))


def test_migrated_schema_equals_the_models(engine: Engine) -> None:
    assert is_up_to_date(engine)
    assert current_revision(engine) == head_revision()
    assert drift(engine, metadata()) == []


def test_drift_check_notices_a_table_missing_from_the_migrations(engine: Engine) -> None:
    # The same comparison must fail when the models gain something the migrations lack.
    extended = MetaData()
    for table in metadata().tables.values():
        table.to_metadata(extended)
    Table("not_migrated", extended, Column("id", Integer, primary_key=True))
    differences = drift(engine, extended)
    assert any(diff[0] == "add_table" for diff in differences)  # type: ignore[index]


def test_every_core_table_exists(engine: Engine) -> None:
    names = set(inspect(engine).get_table_names())
    assert {
        "cases",
        "case_services",
        "case_referrals",
        "source_records",
        "quarantine",
        "cursors",
        "audit_entries",
        "oauth_clients",
        "feed_state",
    } <= names


def test_feed_state_is_seeded_and_cursors_round_trip(engine: Engine) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as connection:
        assert connection.execute(select(FeedStateRow.last_seq)).scalar_one() == 0
        connection.execute(
            insert(CursorRow),
            [{"city": "roma", "source": "welfare", "cursor": "p=3", "updated_at": now}],
        )
    with engine.connect() as connection:
        assert connection.execute(select(CursorRow.cursor)).scalar_one() == "p=3"


def test_sqlite_runs_in_wal_mode(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/sub/dir/lgnet.db")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
    assert (tmp_path / "sub" / "dir").is_dir()


@pytest.mark.parametrize("url", ["postgresql://u@h/db", "postgres://u@h/db"])
def test_postgres_urls_use_psycopg3(url: str) -> None:
    from gateway.storage import normalise_url

    assert normalise_url(url).startswith("postgresql+psycopg://")
