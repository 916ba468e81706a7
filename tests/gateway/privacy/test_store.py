"""gateway.privacy.store: persons, tokens, pseudonyms and merges, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, func, insert, select

from gateway.privacy import identifiers_of, store
from gateway.privacy.keys import NATIONAL
from gateway.privacy.pseudonyms import Pseudonymiser
from gateway.storage.identity import KeyVersionRow, PersonRow, PseudonymRow
from gateway.storage.tables import (
    CaseRow,
    CaseServiceRow,
    FeedStateRow,
    SourceRecordRow,
)

from .seeding import register, synthetic_people

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def test_persons_are_created_in_bulk_with_distinct_random_tokens(engine: Engine) -> None:
    with engine.begin() as conn:
        created = store.create_persons(conn, 500, now=NOW)
        assert store.create_persons(conn, 0) == []
    assert len({p.id for p in created}) == 500
    assert len({p.person_token for p in created}) == 500
    assert all(len(p.person_token) == 32 for p in created)
    assert "person_token" not in repr(created[0])
    with engine.connect() as conn:
        stored = store.person_tokens(conn, [p.id for p in created])
        assert stored == {p.id: p.person_token for p in created}
        assert store.count_persons(conn) == 500


def test_tokens_find_their_person_and_stp_renewals_extend_validity(
    engine: Engine, pseudonymiser: Pseudonymiser
) -> None:
    stp = pseudonymiser.inner_token("stp", "STP1202010001234")
    cf = pseudonymiser.inner_token("cf", "RSSMRA80C15H501M")
    with engine.begin() as conn:
        (person,) = store.create_persons(conn, 1)
        store.attach_tokens(
            conn,
            [
                store.TokenLink(cf, "cf", person.id),
                store.TokenLink(stp, "stp", person.id, date(2025, 3, 1)),
            ],
        )
        # Same tokens again: idempotent; the STP code renewed until a later day.
        store.attach_tokens(conn, [store.TokenLink(stp, "stp", person.id, date(2025, 9, 1))])
        store.attach_tokens(conn, [store.TokenLink(stp, "stp", person.id, date(2025, 1, 1))])
        store.attach_tokens(conn, [store.TokenLink(stp, "stp", person.id, None)])
    with engine.connect() as conn:
        unknown = pseudonymiser.inner_token("cf", "XXXXXX00A00H501X")
        assert store.find_persons(conn, [cf, stp, unknown, cf]) == {cf: person.id, stp: person.id}
        assert store.find_persons(conn, [stp], valid_on=date(2025, 9, 1)) == {stp: person.id}
        assert store.find_persons(conn, [stp, cf], valid_on=date(2025, 9, 2)) == {cf: person.id}


def test_a_token_keeps_its_first_person(engine: Engine, pseudonymiser: Pseudonymiser) -> None:
    token = pseudonymiser.inner_token("cf", "RSSMRA80C15H501M")
    with engine.begin() as conn:
        first, second = store.create_persons(conn, 2)
        store.attach_tokens(conn, [store.TokenLink(token, "cf", first.id)])
        store.attach_tokens(conn, [store.TokenLink(token, "cf", second.id)])
        assert store.find_persons(conn, [token]) == {token: first.id}


def test_ensure_pseudonyms_creates_once_and_records_the_domain_version(
    engine: Engine, pseudonymiser: Pseudonymiser
) -> None:
    with engine.begin() as conn:
        people = store.create_persons(conn, 3000)  # more than one IN-list chunk
        ids = [p.id for p in people]
        pids, version = store.ensure_pseudonyms(conn, pseudonymiser, ids, NATIONAL)
        assert version == pseudonymiser.current_version == 1
        assert pids[ids[0]] == pseudonymiser.pseudonym(NATIONAL, people[0].person_token, 1)
    with engine.begin() as conn:
        again, _ = store.ensure_pseudonyms(conn, pseudonymiser, ids[:10] + ids[:10], NATIONAL)
        assert again == {i: pids[i] for i in ids[:10]}
        roma, _ = store.ensure_pseudonyms(conn, pseudonymiser, ids[:10], "city:roma")
        assert set(roma.values()).isdisjoint(pids.values())
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(PseudonymRow)).scalar_one() == 3010
        versions = dict(
            conn.execute(select(KeyVersionRow.domain, KeyVersionRow.current_version)).tuples().all()
        )
        assert versions == {"national": 1, "city:roma": 1}


def test_ensure_pseudonyms_rejects_unknown_persons(
    engine: Engine, pseudonymiser: Pseudonymiser
) -> None:
    with engine.begin() as conn, pytest.raises(store.IdentityStoreError):
        store.ensure_pseudonyms(conn, pseudonymiser, [424242], NATIONAL)


def test_feed_positions_are_handed_out_in_order(engine: Engine) -> None:
    with engine.begin() as conn:
        assert store.allocate_feed_seqs(conn, 5) == 1
        assert store.allocate_feed_seqs(conn, 1) == 6
        assert conn.execute(select(FeedStateRow.last_seq)).scalar_one() == 6


def _cases(conn) -> dict[str, tuple[int, str, int]]:
    rows = conn.execute(select(CaseRow.case_id, CaseRow.person_id, CaseRow.pid, CaseRow.feed_seq))
    return {r.case_id: (r.person_id, r.pid, r.feed_seq) for r in rows}


def test_merging_moves_tokens_and_cases_and_keeps_the_survivors_pid(
    engine: Engine, pseudonymiser: Pseudonymiser
) -> None:
    alice, bob = synthetic_people(2)
    with engine.begin() as conn:
        (a,) = register(conn, pseudonymiser, [alice.identifiers()], city="roma", source="w")
        (b,) = register(conn, pseudonymiser, [bob.identifiers()], city="roma", source="w")
        register(conn, pseudonymiser, [bob.identifiers()], city="milano", source="w")
        # A service of bob's Roma case, contributed by one source record.
        record = conn.execute(
            insert(SourceRecordRow).returning(SourceRecordRow.id),
            [
                {
                    "city": "roma",
                    "source": "w",
                    "record_key": "k" * 64,
                    "content_hash": "h" * 64,
                    "case_pk": None,
                    "deleted": False,
                    "received_at": NOW,
                }
            ],
        ).scalar_one()
        bob_roma = conn.execute(
            select(CaseRow.id).where(CaseRow.case_id == f"roma-{b}")
        ).scalar_one()
        conn.execute(
            insert(CaseServiceRow),
            [{"case_pk": bob_roma, "source_record_pk": record, "type": "housing_support"}],
        )
        before = _cases(conn)
        last_seq = conn.execute(select(FeedStateRow.last_seq)).scalar_one()
    alice_pid = before[f"roma-{a}"][1]
    with engine.begin() as conn:
        result = store.merge_persons(conn, pseudonymiser, a, b, now=NOW)
    assert result.moved_cases == 1 and result.folded_case_ids == [f"roma-{b}"]
    with engine.connect() as conn:
        after = _cases(conn)
        assert set(after) == {f"roma-{a}", f"milano-{b}"}
        assert after[f"milano-{b}"][:2] == (a, alice_pid)
        assert after[f"roma-{a}"][:2] == (a, alice_pid)
        assert min(seq for _, _, seq in after.values()) > last_seq  # both sent again
        alice_roma = conn.execute(
            select(CaseRow.id).where(CaseRow.case_id == f"roma-{a}")
        ).scalar_one()
        assert conn.execute(select(CaseServiceRow.case_pk)).scalar_one() == alice_roma
        tokens = pseudonymiser.inner_tokens(
            identifiers_of(bob.identifiers(), city="roma", source="w")
        )
        assert set(store.find_persons(conn, tokens).values()) == {a}
        assert (
            conn.execute(select(PersonRow.merged_into).where(PersonRow.id == b)).scalar_one() == a
        )
        assert store.pseudonyms_of(conn, [b], NATIONAL) == {}
        # The survivor gained a Milano pseudonym of its own.
        assert set(store.pseudonyms_of(conn, [a], "city:milano")) == {a}
        assert store.count_persons(conn) == 1


def test_merging_is_refused_for_the_same_or_an_already_merged_person(
    engine: Engine, pseudonymiser: Pseudonymiser
) -> None:
    with engine.begin() as conn:
        a, b, c = (p.id for p in store.create_persons(conn, 3))
        with pytest.raises(store.IdentityStoreError):
            store.merge_persons(conn, pseudonymiser, a, a)
        store.merge_persons(conn, pseudonymiser, a, b)
        with pytest.raises(store.IdentityStoreError):
            store.merge_persons(conn, pseudonymiser, c, b)
        store.merge_persons(conn, pseudonymiser, c, a)  # chains are flattened
        merged = dict(conn.execute(select(PersonRow.id, PersonRow.merged_into)).tuples().all())
        assert merged == {a: c, b: c, c: None}
