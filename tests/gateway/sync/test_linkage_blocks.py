"""Linkage across batches through stored blocking keys (each batch builds its own linker)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from gateway.privacy import linkage_blocks
from gateway.privacy.features import LinkageFeatures
from gateway.storage.linkage import LinkageBlockRow, LinkageFeaturesRow
from gateway.storage.tables import CaseRow, SourceRecordRow
from gateway.sync import identity
from gateway.sync.pipeline import ingest
from tests.gateway.sync.synthetic import fiscal_code, intake


def push(engine, settings, records, source="api"):
    report = ingest(
        engine, city="roma", source=source, records=records, mapper=None, settings=settings
    )
    assert report.rejected == 0, report.results
    return report


def persons(engine: Engine) -> list[int]:
    """The person of each stored source record, in insertion order."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(CaseRow.person_id)
            .join(SourceRecordRow, SourceRecordRow.case_pk == CaseRow.id)
            .order_by(SourceRecordRow.id)
        )
        return [row.person_id for row in rows]


def blocks(engine: Engine) -> set[tuple[int, int, bool]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(LinkageBlockRow.block, LinkageBlockRow.person_id, LinkageBlockRow.coded)
        )
        return {(row.block, row.person_id, bool(row.coded)) for row in rows}


def uncoded(n: int, **changes):
    """Person ``n``'s record without any identifier, from another source."""
    return intake(n, subject__identifiers={}, source__record_id=f"U{n}", **changes)


def test_a_record_without_a_code_finds_the_person_a_past_batch_stored(engine, settings) -> None:
    push(engine, settings, [intake(n) for n in range(20)])
    identity.forget_linkers()  # as a fresh process would: nothing of the past is in memory
    push(engine, settings, [uncoded(7)], source="shelter")
    found = persons(engine)
    assert found[-1] == found[7]
    assert len(set(found)) == 20


def test_a_person_who_gains_a_code_is_no_candidate_for_records_with_another(
    engine, settings
) -> None:
    push(engine, settings, [uncoded(3)], source="shelter")
    assert {coded for _, _, coded in blocks(engine)} == {False}
    push(engine, settings, [intake(3)])
    first, second = persons(engine)
    assert first == second  # the code's record joins the person by name and birth date
    assert {coded for _, _, coded in blocks(engine)} == {True}
    with engine.connect() as connection:
        stored = connection.execute(select(LinkageFeaturesRow.features)).scalars().all()
        held = LinkageFeatures.from_bytes(bytes(stored[-1]), city="roma", source="api")
        # A record with the same demographics and another code: the person is not even read.
        other = LinkageFeatures(**{**_fields(held), "strong": ((held.strong[0][0], b"x" * 32),)})
        assert linkage_blocks.neighbourhood(connection, [other]) == {}
        # Without a code it is found again.
        assert set(linkage_blocks.neighbourhood(connection, [_without_codes(held)])) == {first}


def test_a_merge_moves_the_absorbed_persons_keys_to_the_survivor(engine, settings) -> None:
    provisional = "12345678903"
    first = intake(5, subject__identifiers={"provisional_fiscal_code": provisional},
                   subject__family_name="Zzyzx", subject__given_names="Qwerty",
                   subject__birth_date="1999-12-31", source__record_id="P5")  # fmt: skip
    push(engine, settings, [first])
    push(engine, settings, [intake(5)])
    a, b = persons(engine)
    assert a != b  # nothing tied them yet: other names and birth date, no shared identifier
    held = {"fiscal_code": fiscal_code(5), "provisional_fiscal_code": provisional}
    push(engine, settings, [intake(5, subject__identifiers=held, source__record_id="BOTH")])
    survivor = min(a, b)
    assert set(persons(engine)) == {survivor}
    assert {person for _, person, _ in blocks(engine)} == {survivor}


@pytest.mark.parametrize("size", [1, 7])
def test_rebuilding_the_keys_from_the_features_gives_what_the_batches_wrote(
    engine, settings, size
) -> None:
    records = [intake(n) for n in range(12)] + [uncoded(n) for n in range(0, 12, 3)]
    for start in range(0, len(records), size):
        push(engine, settings, records[start : start + size])
    written = blocks(engine)
    with engine.begin() as connection:
        assert linkage_blocks.rebuild_blocks(connection) == len(written)
    assert blocks(engine) == written


def _fields(f: LinkageFeatures) -> dict:
    return {name: getattr(f, name) for name in LinkageFeatures.__slots__}


def _without_codes(f: LinkageFeatures) -> LinkageFeatures:
    return LinkageFeatures(**{**_fields(f), "strong": ()})


def test_the_migration_derives_the_keys_of_a_database_linked_before_it(engine, settings) -> None:
    from alembic import command

    from gateway.storage.migrate import alembic_config, upgrade

    push(engine, settings, [intake(n) for n in range(8)] + [uncoded(2), uncoded(5)])
    written = blocks(engine)
    command.downgrade(alembic_config(engine), "0006_summaries")
    upgrade(engine)
    assert blocks(engine) == written
