"""``lgnet mapping check | explain | coverage`` (gateway/cli/mapping.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli.mapping import app
from tests.mappings.test_invalid_mappings import INVALID_MAPPINGS

runner = CliRunner()
FIXTURES = Path(__file__).parent.parent / "mappings" / "fixtures"
TORINO = FIXTURES / "torino" / "welfare-csv.yaml"
TORINO_SAMPLE = FIXTURES / "torino" / "golden" / "welfare-csv.input.csv"


def test_check_passes_on_shipped_and_example_mappings() -> None:
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 0, result.output
    assert "source definition(s) OK" in result.output
    result = runner.invoke(app, ["check", str(FIXTURES)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "3 source definition(s) OK"


@pytest.mark.parametrize(("text", "expected"), INVALID_MAPPINGS[::4])
def test_check_fails_with_the_message_of_each_invalid_case(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "roma" / "welfare-csv.yaml"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["check", str(tmp_path)])
    assert result.exit_code == 1
    assert expected.replace("{file}", str(path)) in result.output
    assert "problem(s) in 1 file(s)" in result.output


def test_explain_shows_each_field_step_by_step() -> None:
    result = runner.invoke(app, ["explain", str(TORINO), str(TORINO_SAMPLE)])
    assert result.exit_code == 0, result.output
    for text in (
        'subject.family_name  <- column COGNOME: "  EL  AMRANI "',
        '    trim (collapse): "  EL  AMRANI " -> "EL AMRANI"',
        '    case title: "EL AMRANI" -> "El Amrani"',
        '    date %d/%m/%Y | %d-%m-%Y: "01/05/1990" -> "1990-05-01"',
        'services[1].type  <- column SERVIZIO_2: "05"',
    ):
        assert text in result.output
    assert '"record_id": "TO-2024-0001"' in result.output


def test_explain_a_failing_record() -> None:
    result = runner.invoke(app, ["explain", str(TORINO), str(TORINO_SAMPLE), "--record", "3"])
    assert result.exit_code == 1
    assert (
        '    date %d/%m/%Y | %d-%m-%Y: "31/02/1988" -> ✗ subject.birth_date (from DATA_NASCITA): '
        "rule date failed" in result.output
    )
    assert "record error: subject.birth_date" in result.output


def test_explain_usage_errors(tmp_path: Path) -> None:
    result = runner.invoke(app, ["explain", str(TORINO), str(TORINO_SAMPLE), "-r", "9"])
    assert result.exit_code == 2
    assert "the sample has 5 record(s), not 9" in result.output
    result = runner.invoke(app, ["explain", "roma/nothing-here", str(TORINO_SAMPLE)])
    assert result.exit_code == 2
    assert "no source definition 'roma/nothing-here'" in result.output
    broken = tmp_path / "roma" / "welfare-csv.yaml"
    broken.parent.mkdir()
    broken.write_text(INVALID_MAPPINGS[6][0], encoding="utf-8")
    result = runner.invoke(app, ["coverage", str(broken), str(TORINO_SAMPLE)])
    assert result.exit_code == 2
    assert "unknown key 'feilds'" in result.output
    assert "run 'lgnet mapping check'" in result.output


def test_coverage_lists_unmapped_codes() -> None:
    result = runner.invoke(app, ["coverage", str(TORINO), str(TORINO_SAMPLE)])
    assert result.exit_code == 0, result.output
    assert "code map channel (intake_channel): unmapped local codes" in result.output
    assert "EVENTO" in result.output and "None" in result.output  # falls to the default
    assert "03" in result.output and "record error" in result.output
    assert "code map country (country): every code mapped" in result.output
    assert "5 record(s) read, 2 unmapped local code(s)" in result.output
    result = runner.invoke(app, ["coverage", str(TORINO), str(TORINO_SAMPLE), "--fail-on-unmapped"])
    assert result.exit_code == 1
