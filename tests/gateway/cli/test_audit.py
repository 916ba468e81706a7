"""``lgnet audit verify``: exit 0 on an intact trail, 1 naming the entry when tampered."""

from __future__ import annotations

from sqlalchemy import update
from typer.testing import CliRunner

from gateway import audit
from gateway.cli import app
from gateway.storage import make_engine, upgrade
from gateway.storage.tables import AuditEntryRow

runner = CliRunner()


def test_verify_reports_tampering(tmp_path, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path}/audit.db"
    engine = make_engine(url)
    upgrade(engine)
    monkeypatch.setenv("LGNET_DATABASE_URL", url)
    for count in (1, 2, 3):
        with engine.begin() as connection:
            audit.append(connection, actor="c", action="GET /v1/cases", count=count)
    intact = runner.invoke(app, ["audit", "verify"])
    assert intact.exit_code == 0 and "intact: 3 entries" in intact.output
    with engine.begin() as connection:
        connection.execute(update(AuditEntryRow).where(AuditEntryRow.seq == 2).values(actor="x"))
    tampered = runner.invoke(app, ["audit", "verify"])
    assert tampered.exit_code == 1
    assert "entry 2: the entry was edited" in tampered.output
