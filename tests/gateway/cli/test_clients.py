"""``lgnet clients`` and ``lgnet signing-keys``: register, list, disable, rotate."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from gateway.cli import app
from gateway.storage import make_engine, upgrade
from gateway.storage.tables import OAuthClientRow
from tests.gateway.auth.jwt_factory import public_jwks, rsa_key

runner = CliRunner()


@pytest.fixture
def database(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path}/cli.db"
    upgrade(make_engine(url))
    monkeypatch.setenv("LGNET_DATABASE_URL", url)
    return url


def test_add_prints_the_secret_once_and_list_never_does(database) -> None:
    added = runner.invoke(
        app,
        ["clients", "add", "--name", "Roma welfare", "--scope", "records:write", "--city", "roma"],
    )
    assert added.exit_code == 0, added.output
    lines = dict(line.split(": ", 1) for line in added.stdout.splitlines() if ": " in line)
    client_id, secret = lines["client_id"], lines["client_secret"]
    with make_engine(database).connect() as connection:
        stored = connection.execute(select(OAuthClientRow.secret_hash)).scalar_one()
    assert secret not in stored
    listed = runner.invoke(app, ["clients", "list"])
    assert client_id in listed.output and "records:write" in listed.output
    assert secret not in listed.output
    disabled = runner.invoke(app, ["clients", "disable", client_id])
    assert disabled.exit_code == 0 and "disabled" in runner.invoke(app, ["clients", "list"]).output


def test_add_with_a_jwks_file(database, tmp_path) -> None:
    jwks = tmp_path / "client.jwks.json"
    jwks.write_text(json.dumps(public_jwks(rsa_key("k1"))))
    added = runner.invoke(
        app,
        [
            "clients",
            "add",
            "--name",
            "National",
            "--scope",
            "cases:read,summaries:read",
            "--jwks",
            str(jwks),
        ],
    )
    assert added.exit_code == 0, added.output
    assert "client_secret" not in added.output and "private_key_jwt" in added.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "x", "--scope", "records:write"], "--city"),
        (["--name", "x", "--scope", "everything"], "--scope"),
        (["--name", "x", "--scope", "cases:read", "--jwks", "/no/such/file"], "--jwks"),
    ],
)
def test_add_refuses_bad_registrations(database, args, message) -> None:
    result = runner.invoke(app, ["clients", "add", *args])
    assert result.exit_code == 2 and message in result.output


def test_signing_keys_rotate(database) -> None:
    first = runner.invoke(app, ["signing-keys", "list"])
    assert first.exit_code == 0 and "signing" in first.output
    rotated = runner.invoke(app, ["signing-keys", "rotate"])
    new_kid = rotated.output.split(": ")[1].strip()
    listed = runner.invoke(app, ["signing-keys", "list"]).output.splitlines()
    assert listed[0] == f"{new_kid}  signing"
    assert listed[1].endswith("published (retired)")
