"""Quarantine: AES-GCM payloads bound to their source, retention purge, grouped listing."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from gateway.settings import load_settings
from gateway.storage.tables import QuarantineRow
from gateway.sync.pipeline import ingest
from gateway.sync.quarantine import (
    Payload,
    PayloadUnreadable,
    QuarantineCipher,
    QuarantineKeyError,
    purge,
    summary,
)
from tests.gateway.sync.synthetic import fiscal_code, intake

KEY = bytes(range(32))


def test_a_sealed_payload_opens_only_for_its_city_and_source() -> None:
    cipher = QuarantineCipher(KEY)
    payload = Payload("raw", {"CF": fiscal_code(1), "n": 1}, "R1", "line 2").to_bytes()
    blob = cipher.seal(payload, city="roma", source="welfare")
    assert fiscal_code(1).encode() not in blob
    assert cipher.open(blob, city="roma", source="welfare") == payload
    assert Payload.from_bytes(payload).data["CF"] == fiscal_code(1)
    with pytest.raises(PayloadUnreadable):
        cipher.open(blob, city="milano", source="welfare")
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(PayloadUnreadable):
        cipher.open(tampered, city="roma", source="welfare")
    with pytest.raises(PayloadUnreadable):
        QuarantineCipher(bytes(32)).open(blob, city="roma", source="welfare")


def test_the_key_id_names_the_key_without_revealing_it() -> None:
    one, two = QuarantineCipher(KEY), QuarantineCipher(bytes(32))
    assert one.key_id != two.key_id and one.key_id.startswith("q-")
    assert KEY.hex()[:12] not in one.key_id
    assert "q-" in repr(one) and KEY.hex() not in repr(one)


@pytest.mark.parametrize("value", ["not base64!", base64.b64encode(b"short").decode()])
def test_a_bad_key_names_the_variable(value) -> None:
    with pytest.raises(QuarantineKeyError, match="LGNET_QUARANTINE_KEY"):
        QuarantineCipher.from_settings(load_settings(quarantine_key=value))


def test_rejected_records_are_quarantined_with_cause_and_purged_after_retention(
    engine, settings
) -> None:
    bad = [
        intake(1, subject__permit_type="nonsense"),
        intake(2, subject__birth_date="31/02/1990"),
    ]
    report = ingest(engine, city="roma", source="api", records=bad, mapper=None, settings=settings)
    assert report.quarantined == 2
    with engine.connect() as connection:
        rows = connection.execute(select(QuarantineRow).order_by(QuarantineRow.id)).all()
    assert [(r.stage, r.field, r.rule) for r in rows] == [
        ("validation", "subject.permit_type", "code"),
        ("validation", "subject.birth_date", "date_from_datetime_parsing"),
    ]
    assert all(fiscal_code(1).encode() not in r.payload for r in rows)
    groups = summary(engine, city="roma")
    assert sum(g.count for g in groups) == 2 and {g.source for g in groups} == {"api"}

    old = datetime.now(UTC) - timedelta(days=settings.quarantine_retention_days + 1)
    with engine.begin() as connection:
        connection.execute(
            update(QuarantineRow).where(QuarantineRow.id == rows[0].id).values(created_at=old)
        )
    assert purge(engine, settings) == 1
    assert sum(g.count for g in summary(engine)) == 1
