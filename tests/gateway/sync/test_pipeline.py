"""The ingest pipeline: outcomes, idempotency, updates, tombstones, linkage into cases, feed."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select, text

from adapters.base import RawRecord
from gateway.storage.tables import (
    CaseRow,
    CaseServiceRow,
    CursorRow,
    QuarantineRow,
    SourceRecordRow,
)
from gateway.sync.pipeline import ingest
from tests.gateway.sync.synthetic import family_name, fiscal_code, intake


def count(engine: Engine, table) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def cases(engine: Engine) -> list:
    with engine.connect() as connection:
        return connection.execute(select(CaseRow).order_by(CaseRow.feed_seq)).all()


def push(engine, settings, records, **kwargs):
    return ingest(
        engine, city="roma", source="api", records=records, mapper=None, settings=settings, **kwargs
    )


def test_outcomes_per_record_and_counts(engine, settings) -> None:
    records = [intake(1), intake(2), intake(3, source__city="milano"), {"subject": {}}]
    report = push(engine, settings, records)
    assert [r.outcome for r in report.results] == ["accepted", "accepted", "rejected", "rejected"]
    assert (report.accepted, report.duplicate, report.rejected, report.quarantined) == (2, 0, 2, 2)
    assert report.results[2].field == "source.city" and report.results[2].rule == "city"
    assert report.results[3].field == "source" and report.results[3].rule == "missing"
    assert count(engine, CaseRow) == 2
    assert count(engine, QuarantineRow) == 2


def test_the_same_records_again_are_duplicates_and_write_nothing(engine, settings) -> None:
    records = [intake(n) for n in range(5)] + [{"bad": True}]
    push(engine, settings, records)
    before = [(c.case_id, c.feed_seq) for c in cases(engine)]
    again = push(engine, settings, records)
    assert (again.accepted, again.duplicate, again.rejected, again.quarantined) == (0, 5, 1, 0)
    assert [(c.case_id, c.feed_seq) for c in cases(engine)] == before
    assert count(engine, SourceRecordRow) == 5
    assert count(engine, QuarantineRow) == 1  # the bad record is quarantined once


def test_a_changed_record_updates_its_case_and_moves_it_up_the_feed(engine, settings) -> None:
    push(engine, settings, [intake(1), intake(2)])
    first = {c.person_id: c for c in cases(engine)}
    changed = intake(1, subject__permit_type="family", services=[])
    report = push(engine, settings, [changed])
    assert report.accepted == 1
    after = {c.person_id: c for c in cases(engine)}
    assert after.keys() == first.keys()
    moved = next(c for c in after.values() if c.permit_category == "family")
    assert moved.feed_seq > max(c.feed_seq for c in first.values())
    assert moved.case_id == first[moved.person_id].case_id
    assert count(engine, CaseServiceRow) == 1  # the changed record dropped its service


def test_records_of_one_person_make_one_case_per_city(engine, settings) -> None:
    welfare = intake(7, source__record_id="W-1")
    health = intake(
        7,
        source__record_id="H-9",
        source__source="health-fhir",
        source__system="health",
        source__updated_at="2025-04-01T00:00:00+00:00",
        subject__permit_type="international_protection",
        case__vulnerabilities=["pregnancy"],
        services=[{"type": "health_referral"}],
    )
    push(engine, settings, [welfare, health])
    [case] = cases(engine)
    assert case.permit_category == "international_protection"  # the latest record wins
    assert case.vulnerabilities == ["homelessness", "pregnancy"]
    assert {p["source"] for p in case.provenance} == {"welfare-csv", "health-fhir"}
    assert count(engine, CaseServiceRow) == 2
    milano = intake(7, source__city="milano")
    ingest(engine, city="milano", source="api", records=[milano], mapper=None, settings=settings)
    both = cases(engine)
    assert len(both) == 2 and len({c.pid for c in both}) == 1  # one pid across cities
    assert len({c.case_id for c in both}) == 2


def test_a_provisional_and_a_final_fiscal_code_in_one_record_join_two_persons(
    engine, settings
) -> None:
    provisional = "12345678903"
    early = intake(50, subject__identifiers={"provisional_fiscal_code": provisional})
    late = intake(51, subject__identifiers={"fiscal_code": fiscal_code(51)})
    push(engine, settings, [early])
    push(engine, settings, [late])
    assert len(cases(engine)) == 2
    both = intake(
        52,
        subject__identifiers={
            "fiscal_code": fiscal_code(51),
            "provisional_fiscal_code": provisional,
        },
    )
    push(engine, settings, [both])
    [case] = cases(engine)
    assert count(engine, SourceRecordRow) == 3
    with engine.connect() as connection:
        linked = connection.execute(
            select(func.count()).where(SourceRecordRow.case_pk == case.id)
        ).scalar_one()
    assert linked == 3


def test_a_record_without_identifiers_is_linked_by_name_and_birth_date(engine, settings) -> None:
    push(engine, settings, [intake(60)])
    anonymous = intake(60, source__record_id="NO-CF", subject__identifiers={})
    other = intake(61, source__record_id="OTHER", subject__identifiers={})
    push(engine, settings, [anonymous, other])
    linked = cases(engine)
    assert len(linked) == 2  # person 60 (two records) and person 61
    with engine.connect() as connection:
        per_case = connection.execute(
            select(SourceRecordRow.case_pk, func.count()).group_by(SourceRecordRow.case_pk)
        ).all()
    assert sorted(n for _, n in per_case) == [1, 2]


def test_a_tombstone_removes_the_contribution_and_clears_an_empty_case(engine, settings) -> None:
    push(engine, settings, [intake(1, source__record_id="A"), intake(1, source__record_id="B")])
    push(engine, settings, [intake(1, source__record_id="A", deleted=True)])
    [case] = cases(engine)
    assert case.status == "open" and len(case.provenance) == 1
    report = push(engine, settings, [intake(1, source__record_id="B", deleted=True)])
    assert report.accepted == 1
    [case] = cases(engine)
    assert case.provenance == [] and case.status is None and case.sex is None
    assert count(engine, CaseServiceRow) == 0
    again = push(engine, settings, [intake(1, source__record_id="B", deleted=True)])
    assert again.duplicate == 1


def test_an_adapter_tombstone_needs_only_the_record_id(engine, settings) -> None:
    push(engine, settings, [intake(3, source__source="api", source__record_id="X-1")])
    tombstone = RawRecord(data={}, cursor="c1", record_id="X-1", deleted=True)
    report = push(engine, settings, [tombstone], track_cursor=True)
    assert report.accepted == 1
    [case] = cases(engine)
    assert case.provenance == []
    with engine.connect() as connection:
        assert connection.execute(select(CursorRow.cursor)).scalar_one() == "c1"


def test_feed_positions_increase_across_batches_and_never_repeat(engine, settings) -> None:
    push(engine, settings, [intake(n) for n in range(30)], batch_size=7)
    seqs = [c.feed_seq for c in cases(engine)]
    assert len(set(seqs)) == 30 and seqs == sorted(seqs)
    with engine.connect() as connection:
        last = connection.execute(text("SELECT last_seq FROM feed_state")).scalar_one()
    assert last >= max(seqs)


def test_the_cursor_is_committed_with_its_batch(engine, settings) -> None:
    records = [RawRecord(data=intake(n), cursor=f"line {n}") for n in range(10)]

    def explode(after: int):
        for n, record in enumerate(records):
            if n == after:
                raise RuntimeError("crash")
            yield record

    with pytest.raises(RuntimeError):
        push(engine, settings, explode(7), batch_size=3, track_cursor=True)
    with engine.connect() as connection:
        assert connection.execute(select(CursorRow.cursor)).scalar_one() == "line 5"
    assert count(engine, SourceRecordRow) == 6


def test_joining_the_callers_transaction(engine, settings) -> None:
    with engine.connect() as connection:
        transaction = connection.begin()
        report = push(connection, settings, [intake(1), intake(2)], batch_size=1)
        assert report.accepted == 2
        transaction.rollback()
    assert count(engine, CaseRow) == 0
    # The linker saw those records in the rolled-back transaction; it must not remember them.
    again = push(engine, settings, [intake(1), intake(2)])
    assert again.accepted == 2 and count(engine, CaseRow) == 2


def test_no_identifier_or_name_reaches_the_database(engine, settings, tmp_path) -> None:
    records = [intake(n) for n in range(20)]
    records.append(intake(99, subject__permit_type="not-a-permit"))
    push(engine, settings, records)
    secrets_ = {fiscal_code(n) for n in (*range(20), 99)} | {family_name(n) for n in range(20)}
    with engine.connect() as connection:
        dump = []
        for table in ("cases", "source_records", "case_services", "quarantine", "cursors"):
            for row in connection.execute(text(f"SELECT * FROM {table}")):
                dump.append(repr(tuple(row)))
    blob = "\n".join(dump)
    assert not [s for s in secrets_ if s in blob]


def test_records_held_unchanged_are_not_encoded_for_linkage(engine, settings, monkeypatch) -> None:
    from gateway.privacy.features import FeatureEncoder

    encoded = []
    original = FeatureEncoder.encode

    def counting(self, subject, **kwargs):
        encoded.append(1)
        return original(self, subject, **kwargs)

    from gateway.sync.pipeline import PREREAD_MIN

    monkeypatch.setattr(FeatureEncoder, "encode", counting)
    held = [intake(n) for n in range(PREREAD_MIN)]
    push(engine, settings, held)
    assert len(encoded) == PREREAD_MIN
    again = push(engine, settings, [*held, intake(PREREAD_MIN)])
    assert (again.accepted, again.duplicate) == (1, PREREAD_MIN)
    assert len(encoded) == PREREAD_MIN + 1  # only the new record


def test_a_record_taken_for_a_duplicate_before_its_transaction_is_still_linked(
    engine, settings, monkeypatch
) -> None:
    from gateway.sync import pipeline

    held = [intake(n) for n in range(pipeline.PREREAD_MIN)]
    push(engine, settings, held)
    # As if the pre-read had seen every record unchanged, and another writer changed them
    # before the batch's transaction: the transaction sees new contents and must link them.
    lying: dict = {}

    def stale(bind, batch):
        lying.update({(item.source, item.record_key): item.content_hash for item in batch.valid})
        return dict(lying)

    monkeypatch.setattr(pipeline, "_stored_hashes", stale)
    changed = [*held[2:], intake(1, subject__sex="F"), intake(pipeline.PREREAD_MIN)]
    report = push(engine, settings, changed)
    assert lying  # the pre-read was asked
    assert (report.accepted, report.duplicate) == (2, pipeline.PREREAD_MIN - 2)
    assert count(engine, CaseRow) == pipeline.PREREAD_MIN + 1
    assert len({c.person_id for c in cases(engine)}) == pipeline.PREREAD_MIN + 1
