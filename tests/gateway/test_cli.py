"""The ``lgnet`` command line: every listed command works."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from gateway.cli import app

runner = CliRunner()


def test_help_lists_the_command_groups() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "db" in result.output and "schema" in result.output


def test_db_upgrade_creates_and_migrates_the_database(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LGNET_DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "empty ->" in result.output
    result = runner.invoke(app, ["db", "current"])
    assert "up to date" in result.output


def test_schema_export_check_passes_on_the_checked_in_files() -> None:
    result = runner.invoke(app, ["schema", "export", "--check"])
    assert result.exit_code == 0, result.output


def test_settings_errors_are_one_line_naming_the_variable(tmp_path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "LGNET_ENV": "production",
        "LGNET_DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
    }
    completed = subprocess.run(
        [sys.executable, "-c", "from gateway.cli import main; main()", "db", "upgrade"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert completed.returncode == 2
    assert "LGNET_PSEUDONYM_KEY" in completed.stderr
    assert "Traceback" not in completed.stderr
