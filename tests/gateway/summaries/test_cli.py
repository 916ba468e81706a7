"""``lgnet summaries``: tables, progress toward the targets, JSON and CSV output."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.storage import make_engine, upgrade
from tests.gateway.summaries.builders import Case, Service, add_cases

runner = CliRunner()


@pytest.fixture
def database(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path}/lgnet.db"
    engine = make_engine(url)
    upgrade(engine)
    cases = [
        Case(f"pid-{n:02d}", "roma", services=[Service("housing_support")] * (n % 2))
        for n in range(30)
    ] + [Case("pid-mi", "milano")]
    add_cases(engine, cases)
    engine.dispose()
    monkeypatch.setenv("LGNET_DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "160")
    return url


def test_the_table_shows_kpis_withheld_cells_and_progress(database) -> None:
    result = runner.invoke(app, ["summaries", "--city", "roma,milano,national", "--by", "sex"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Period programme" in out and "Sex — national, programme" in out
    assert "Progress toward the targets" in out
    assert "> 3,000" in out and "> 500" in out and "≈ 600" in out
    assert "<5" in out  # Milano's single person is withheld
    national = next(line for line in out.splitlines() if line.startswith("│ national"))
    assert "31" in national
    assert "pid-" not in out


def test_json_and_csv_output(database) -> None:
    result = runner.invoke(app, ["summaries", "--format", "json", "--city", "roma"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    roma = {c["kpi"]: c["value"] for c in body["cells"]}
    assert roma["taken_in_charge"] == 30 and roma["housing_support"] == 15
    result = runner.invoke(
        app,
        [
            "summaries",
            "--format",
            "csv",
            "--by",
            "year",
            "--from",
            "2025-01-01",
            "--to",
            "2025-12-31",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "period,kpi,area,dimension,category,value,suppressed"
    assert "2025,taken_in_charge,roma,total,total,,secondary" in result.output.splitlines()


def test_bad_options_exit_with_a_message(database) -> None:
    result = runner.invoke(app, ["summaries", "--by", "week"])
    assert result.exit_code == 2
    assert "by:" in result.output
    result = runner.invoke(app, ["summaries", "--from", "yesterday", "--by", "year"])
    assert result.exit_code == 2
