"""Quarantine replay after a mapping fix: once, atomically, never a second quarantine copy."""

from __future__ import annotations

import base64

from sqlalchemy import func, select

from gateway.storage.tables import CaseRow, QuarantineRow
from gateway.sync import sources
from gateway.sync.replay import replay
from gateway.sync.runner import sync_source
from tests.gateway.sync.synthetic import write_csv, write_definition


def waiting(engine) -> int:
    with engine.connect() as connection:
        query = select(func.count()).where(QuarantineRow.replayed_at.is_(None))
        return connection.execute(query).scalar_one()


def test_replay_after_a_mapping_fix(engine, settings, mappings_root, tmp_path) -> None:
    drop = write_csv(tmp_path / "drop.csv", 60, bad_every=20)
    definition = write_definition(mappings_root, path=str(drop))
    result = sync_source(engine, settings, sources.find(settings, "roma", "welfare-csv"))
    assert result.report.quarantined == 3
    with engine.connect() as connection:
        rule = connection.execute(select(QuarantineRow.rule).distinct()).scalars().all()
    assert rule == ["code_map"]

    unchanged = replay(engine, settings)
    assert (unchanged.selected, unchanged.replayed, unchanged.rejected) == (3, 0, 3)
    assert waiting(engine) == 3  # still there, not copied

    definition.write_text(
        definition.read_text().replace(
            "PI: international_protection", 'PI: international_protection, "???": other'
        )
    )
    fixed = replay(engine, settings, city="roma", source="welfare-csv")
    assert (fixed.selected, fixed.replayed, fixed.rejected) == (3, 3, 0)
    assert waiting(engine) == 0
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(CaseRow)).scalar_one() == 60
        payloads = connection.execute(select(QuarantineRow.payload)).scalars().all()
    assert payloads == [None, None, None]  # replayed: the encrypted copy is gone
    assert replay(engine, settings).selected == 0


def test_payloads_under_another_key_are_counted_unreadable(
    engine, settings, mappings_root, tmp_path
):
    drop = write_csv(tmp_path / "drop.csv", 10, bad_every=5)
    write_definition(mappings_root, path=str(drop))
    sync_source(engine, settings, sources.find(settings, "roma", "welfare-csv"))
    other = settings.model_copy(
        update={
            "quarantine_key": type(settings.quarantine_key)(base64.b64encode(bytes(32)).decode())
        }
    )
    report = replay(engine, other)
    assert (report.selected, report.unreadable, report.replayed) == (2, 2, 0)
