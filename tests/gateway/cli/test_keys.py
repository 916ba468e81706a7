"""``lgnet keys``: generate, add-version, status, rotate — and no key material in any output."""

from __future__ import annotations

import json
import os
import stat

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from gateway.cli import app
from gateway.privacy.keys import Keyring
from gateway.privacy.pseudonyms import Pseudonymiser
from gateway.settings import get_settings
from gateway.storage import make_engine, upgrade
from gateway.storage.tables import CaseRow

from ..privacy.seeding import seed

runner = CliRunner()


@pytest.fixture
def configured(tmp_path, monkeypatch):
    """A key file and a migrated SQLite database in the environment."""
    key_file = tmp_path / "keys.json"
    url = f"sqlite:///{tmp_path}/lgnet.db"
    monkeypatch.setenv("LGNET_DATABASE_URL", url)
    result = runner.invoke(app, ["keys", "generate", "--out", str(key_file)])
    assert result.exit_code == 0, result.output
    monkeypatch.setenv("LGNET_PSEUDONYM_KEY_FILE", str(key_file))
    get_settings.cache_clear()
    engine = make_engine(url)
    upgrade(engine)
    yield key_file, engine
    engine.dispose()


def secrets_of(key_file) -> list[str]:
    return list(json.loads(key_file.read_text())["keys"].values())


def test_generate_add_version_status_and_rotate(configured) -> None:
    key_file, engine = configured
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    seed(engine, Pseudonymiser(Keyring.from_file(key_file)), 120)
    outputs = []

    result = runner.invoke(app, ["keys", "rotate", "--domain", "national"])
    assert result.exit_code == 1 and "newer" in result.output
    outputs.append(result.output)

    result = runner.invoke(app, ["keys", "add-version", "--file", str(key_file)])
    assert result.exit_code == 0 and "added key version 2" in result.output
    outputs.append(result.output)

    result = runner.invoke(app, ["keys", "status"])
    assert result.exit_code == 0, result.output
    assert "current 2" in result.output and "national" in result.output
    assert "behind the current key version" in result.output
    outputs.append(result.output)

    result = runner.invoke(
        app,
        [
            "keys",
            "rotate",
            "--domain",
            "national",
            "--batch-size",
            "100",
            "--sqlite-cache-mib",
            "8",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "national: v1 -> v2, 120 pseudonyms, 120 cases re-sent" in result.output
    outputs.append(result.output)
    with engine.connect() as conn:
        assert set(conn.execute(select(CaseRow.key_version)).scalars()) == {2}

    result = runner.invoke(app, ["keys", "rotate", "--domain", "all"])
    assert result.exit_code == 0, result.output
    assert "city:milano: v1 -> v2" in result.output and "city:roma: v1 -> v2" in result.output
    assert "national" not in result.output  # already there
    outputs.append(result.output)

    result = runner.invoke(app, ["keys", "rotate", "--domain", "all"])
    assert "already at the target key version" in result.output
    for output in outputs:
        for secret in secrets_of(key_file):
            assert secret not in output


def test_rotate_rejects_a_malformed_domain(configured) -> None:
    result = runner.invoke(app, ["keys", "rotate", "--domain", "regional"])
    assert result.exit_code == 1 and "domain" in result.output


def test_generate_refuses_to_overwrite(configured) -> None:
    key_file, _ = configured
    before = key_file.read_text()
    result = runner.invoke(app, ["keys", "generate", "--out", str(key_file)])
    assert result.exit_code == 1 and "refusing to overwrite" in result.output
    assert key_file.read_text() == before
