"""``lgnet sync``, ``lgnet ingest`` and ``lgnet quarantine`` on a real database."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.storage import make_engine, upgrade
from tests.gateway.sync.synthetic import family_name, fiscal_code, write_csv, write_definition

runner = CliRunner()


@pytest.fixture
def env(monkeypatch, mappings_root, database_url, tmp_path):
    monkeypatch.setenv("LGNET_DATABASE_URL", database_url)
    monkeypatch.setenv("LGNET_MAPPINGS_DIR", str(mappings_root))
    engine = make_engine(database_url)
    upgrade(engine)
    engine.dispose()
    return tmp_path


def test_sync_pulls_every_source_with_a_summary(env, mappings_root) -> None:
    write_definition(mappings_root, path=str(write_csv(env / "a.csv", 30, bad_every=10)))
    write_definition(mappings_root, city="milano", path=str(write_csv(env / "b.csv", 5)))
    result = runner.invoke(app, ["sync"])
    assert result.exit_code == 0, result.output
    assert "roma/welfare-csv" in result.output and "milano/welfare-csv" in result.output
    assert "27" in result.output  # accepted in roma
    for secret in (fiscal_code(1), family_name(1).upper()):
        assert secret not in result.output
    again = runner.invoke(app, ["sync", "roma", "welfare-csv"])
    assert again.exit_code == 0 and "milano" not in again.output

    listing = runner.invoke(app, ["quarantine", "list"])
    assert listing.exit_code == 0
    assert "code_map" in listing.output and "3 records waiting" in listing.output
    replayed = runner.invoke(app, ["quarantine", "replay", "--source", "welfare-csv"])
    assert (
        replayed.exit_code == 0 and "3 selected · 0 replayed · 3 still rejected" in replayed.output
    )
    assert "purged" in runner.invoke(app, ["quarantine", "purge"]).output


def test_sync_names_an_unknown_source(env) -> None:
    result = runner.invoke(app, ["sync", "roma", "nothing"])
    assert result.exit_code == 1 and "no source definition roma/nothing" in result.output


def test_ingest_reads_a_file_through_a_sources_mapping(env, mappings_root) -> None:
    write_definition(mappings_root, path=str(env / "unused.csv"))
    file = write_csv(env / "upload.csv", 25, bad_every=12)
    result = runner.invoke(app, ["ingest", "roma", "welfare-csv", str(file)])
    assert result.exit_code == 0, result.output
    assert "25 read · 22 accepted · 0 duplicate · 3 rejected" in result.output
    assert "line" in result.output and "subject.permit_type" in result.output
    again = runner.invoke(app, ["ingest", "roma", "welfare-csv", str(file)])
    assert "0 accepted · 22 duplicate" in again.output
