"""The linker: identifier joins and merges, probabilistic bands, review list, rebuild."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from codicefiscale import codicefiscale  # type: ignore[import-untyped]
from sqlalchemy import Engine, select

from adapters.simulators.population import Population
from gateway.privacy import linkage_store, store
from gateway.privacy.features import FeatureEncoder, LinkageFeatures
from gateway.privacy.linkage import Band, Linker, Merge, Thresholds
from gateway.privacy.pseudonyms import Pseudonymiser
from gateway.schema.intake import Subject
from gateway.storage.linkage import LinkageFeaturesRow

BIRTH = dt.date(1990, 4, 9)


@pytest.fixture
def encoder(pseudonymiser: Pseudonymiser) -> FeatureEncoder:
    return FeatureEncoder(pseudonymiser)


def code(family: str, given: str, birth: dt.date = BIRTH, place: str = "Z330") -> str:
    return str(codicefiscale.encode(family, given, "M", birth.strftime("%d/%m/%Y"), place))


PROVISIONAL = "12345678903"  # valid check digit


class People:
    """Builds features of records of synthetic people for one encoder."""

    def __init__(self, encoder: FeatureEncoder) -> None:
        self.encoder = encoder

    def __call__(
        self, city: str = "roma", source: str = "welfare", **fields: Any
    ) -> LinkageFeatures:
        data: dict[str, Any] = {
            "family_name": "El Amrani",
            "given_names": "Mohamed",
            "sex": "M",
            "birth_date": BIRTH,
            "country_of_birth": "MAR",
        }
        data.update(fields)
        return self.encoder.encode(
            Subject.model_validate(data), city=city, source=source, seen_on=dt.date(2025, 2, 1)
        )


@pytest.fixture
def person(encoder: FeatureEncoder) -> People:
    return People(encoder)


def test_one_fiscal_code_is_one_person_whatever_the_names(person: People) -> None:
    linker = Linker()
    cf = code("El Amrani", "Mohamed")
    first, second = linker.link(
        [
            person(identifiers={"fiscal_code": cf}),
            person(family_name="Rossi", given_names="Mario", identifiers={"fiscal_code": cf}),
        ]
    )
    assert first.created and first.band is Band.NON_MATCH
    assert second.person_id == first.person_id
    assert (second.band, second.method) == (Band.MATCH, "identifier")


def test_two_fiscal_codes_never_merge_even_with_identical_demographics(person: People) -> None:
    linker = Linker()
    a = linker.link_one(person(identifiers={"fiscal_code": code("El Amrani", "Mohamed")}))
    b = linker.link_one(person(identifiers={"fiscal_code": code("Kovalenko", "Olena")}))
    assert a.person_id != b.person_id
    assert linker.persons == 2


def test_provisional_then_final_code_join_through_a_record_holding_both(person: People) -> None:
    linker = Linker()
    final = code("El Amrani", "Mohamed")
    # No names on the first two records: only identifiers can join them.
    early = linker.link_one(
        person(
            family_name=None,
            given_names=None,
            identifiers={"provisional_fiscal_code": PROVISIONAL},
        )
    )
    late = linker.link_one(
        person(
            family_name=None,
            given_names=None,
            birth_date=None,
            identifiers={"fiscal_code": final},
        )
    )
    assert early.person_id != late.person_id
    assert late.band is Band.POSSIBLE  # the same birth date, sex, country: no names, no merge
    bridge = linker.link_one(
        person(identifiers={"fiscal_code": final, "provisional_fiscal_code": PROVISIONAL})
    )
    assert bridge.method == "identifier"
    assert bridge.merges == (Merge(absorbed=late.person_id, into=early.person_id),)
    assert bridge.person_id == early.person_id
    assert linker.find(late.person_id) == early.person_id
    assert linker.persons == 1


def test_a_record_without_code_joins_the_person_whose_code_its_demographics_give(
    person: People,
) -> None:
    linker = Linker()
    with_code = linker.link_one(person(identifiers={"fiscal_code": code("El Amrani", "Mohamed")}))
    stp = linker.link_one(
        person(
            source="health",
            given_names="MUHAMMAD",
            family_name="ELAMRANI",
            identifiers={"stp_code": "STP1201010000123"},
        )
    )
    assert (stp.person_id, stp.band, stp.method) == (
        with_code.person_id,
        Band.MATCH,
        "probabilistic",
    )
    assert stp.score is not None and stp.score >= Thresholds().match


@pytest.mark.parametrize(
    "variant",
    [
        {"given_names": "Muhammad", "family_name": "Al-Amrani"},  # transliteration, particle
        {"given_names": "Mouhamed", "family_name": "ELAMRANI"},
        {"birth_date": dt.date(1990, 9, 4)},  # day and month swapped
        {"given_names": "El Amrani", "family_name": "Mohamed"},  # names swapped
        {"given_names": "Mohammed", "birth_date": dt.date(1990, 9, 4), "city": "milano"},
        {"birth_date": None, "country_of_birth": None},
    ],
)
def test_noisy_records_of_one_person_are_linked(person: People, variant: dict[str, Any]) -> None:
    linker = Linker()
    first = linker.link_one(person(identifiers={"local_id": "W1"}))
    decision = linker.link_one(person(source="health", **variant))
    assert decision.person_id == first.person_id, decision
    assert decision.band is Band.MATCH


def test_namesakes_born_on_other_days_go_to_review_not_merged(person: People) -> None:
    linker = Linker()
    first = linker.link_one(person())
    namesake = linker.link_one(person(birth_date=dt.date(1972, 11, 23)))
    assert namesake.created and namesake.person_id != first.person_id
    assert namesake.band is Band.POSSIBLE
    assert namesake.review is not None
    assert namesake.review.person_id == namesake.person_id
    assert namesake.review.candidate_id == first.person_id
    assert Thresholds().possible <= namesake.review.score < Thresholds().match
    assert namesake.review.levels["birth"] == 0
    assert namesake.review.levels["family_name"] == 4


def test_strangers_are_non_matches(person: People) -> None:
    linker = Linker()
    linker.link_one(person())
    other = linker.link_one(
        person(family_name="Kovalenko", given_names="Olena", sex="F", country_of_birth="UKR")
    )
    assert other.created and other.band is Band.NON_MATCH and other.review is None


def test_a_record_linking_two_persons_merges_them(person: People) -> None:
    linker = Linker()
    cf = code("El Amrani", "Mohamed")
    a = linker.link_one(person(identifiers={"stp_code": "STP1201010000123"}, birth_date=None))
    b = linker.link_one(person(identifiers={"fiscal_code": cf}, family_name="Rossi"))
    assert a.person_id != b.person_id
    both = linker.link_one(person(identifiers={"fiscal_code": cf, "stp_code": "STP1201010000123"}))
    assert both.merges == (Merge(absorbed=b.person_id, into=a.person_id),)


def test_thresholds_are_ordered() -> None:
    with pytest.raises(ValueError, match="must not exceed"):
        Thresholds(match=5, possible=10)


def test_linking_is_deterministic(encoder: FeatureEncoder) -> None:
    records = list(Population(seed=3, size=300).records())
    features = [
        encoder.encode(Subject.model_validate(r.subject), city=r.city, source=r.system)
        for r in records
    ]
    first = [d.person_id for d in Linker().link(features)]
    second = [d.person_id for d in Linker().link(features)]
    assert first == second
    # and close to the truth even on so few people
    truth = {}
    wrong = 0
    for record, person_id in zip(records, first, strict=True):
        wrong += truth.setdefault(record.person_id, person_id) != person_id
    assert wrong <= len(records) * 0.02


def test_the_index_rebuilt_from_the_database_links_like_the_live_one(
    engine: Engine, encoder: FeatureEncoder
) -> None:
    records = list(Population(seed=4, size=150).records())
    features = [
        encoder.encode(Subject.model_validate(r.subject), city=r.city, source=r.system)
        for r in records
    ]
    half = len(features) // 2
    open_conn: dict[str, Any] = {}

    def allocate() -> int:
        return store.create_persons(open_conn["conn"], 1)[0].id

    with engine.begin() as conn:
        open_conn["conn"] = conn
        live = Linker(next_person_id=allocate)
        decisions = live.link(features[:half])
        linkage_store.save_features(
            conn,
            [
                linkage_store.LinkedRecord(r.city, r.system, r.record_id, d.person_id, f)
                for r, d, f in zip(records[:half], decisions, features[:half], strict=True)
            ],
        )
        linkage_store.apply_merges(conn, [m for d in decisions for m in d.merges])
        linkage_store.save_reviews(conn, [d.review for d in decisions if d.review])
    with engine.begin() as conn:
        open_conn["conn"] = conn
        rebuilt, last = linkage_store.load_linker(conn, next_person_id=allocate)
        assert last > 0 and rebuilt.records == half
        assert rebuilt.persons == live.persons
        again = rebuilt.link(features[half:])
        continued = live.link(features[half:])
    # The same decisions, and the same grouping of the records (new persons get other ids).
    assert [(d.band, d.method, d.created) for d in continued] == [
        (d.band, d.method, d.created) for d in again
    ]
    pairs = {(live.find(a.person_id), rebuilt.find(b.person_id)) for a, b in zip(
        continued, again, strict=True)}  # fmt: skip
    assert len({x for x, _ in pairs}) == len({y for _, y in pairs}) == len(pairs)
    assert any(x == y for x, y in pairs)  # persons of the first half are found again


def test_features_reviews_and_merges_at_rest(engine: Engine, person: People) -> None:
    with engine.begin() as conn:
        linker = Linker(next_person_id=lambda: store.create_persons(conn, 1)[0].id)
        first = linker.link_one(person())
        namesake = linker.link_one(person(birth_date=dt.date(1972, 11, 23)))
        assert namesake.review is not None
        linkage_store.save_reviews(conn, [namesake.review])
        linkage_store.save_reviews(conn, [namesake.review])  # seen again: still one
        reviews = linkage_store.open_reviews(conn)
        assert [(r.person_id, r.candidate_id) for r in reviews] == [
            (namesake.person_id, first.person_id)
        ]
        assert set(reviews[0].levels) >= {"family_name", "given_names", "birth"}
        linkage_store.save_features(
            conn,
            [
                linkage_store.LinkedRecord("roma", "welfare", "k1", first.person_id, person()),
                linkage_store.LinkedRecord("roma", "welfare", "k2", namesake.person_id, person()),
            ],
        )
        linkage_store.apply_merges(conn, [Merge(namesake.person_id, first.person_id)])
        owners = conn.execute(select(LinkageFeaturesRow.person_id)).scalars().all()
        assert set(owners) == {first.person_id}
        assert linkage_store.open_reviews(conn) == []
        with pytest.raises(ValueError, match="resolved as"):
            linkage_store.resolve_review(conn, reviews[0].id, "open")
        linkage_store.resolve_review(conn, reviews[0].id, "kept_apart")


def test_a_weak_identifier_never_merges_two_fiscal_codes(person: People) -> None:
    linker = Linker()
    stp = "STP1201010000123"
    a = linker.link_one(person(identifiers={"fiscal_code": code("El Amrani", "Mohamed"),
                                            "stp_code": stp}))  # fmt: skip
    b = linker.link_one(person(identifiers={"fiscal_code": code("Kovalenko", "Olena")}))
    # An STP record of person a that looks like person b in every other respect.
    c = linker.link_one(person(identifiers={"stp_code": stp, "local_id": "H7"}))
    assert c.person_id == a.person_id != b.person_id
    assert c.merges == ()
    assert linker.persons == 2


def test_refresh_adds_what_another_process_stored(engine: Engine, person: People) -> None:
    with engine.begin() as conn:
        ours, last = linkage_store.load_linker(conn)
        assert (ours.records, last) == (0, 0)
        # Another gateway process links and stores a record.
        theirs = Linker(next_person_id=lambda: store.create_persons(conn, 1)[0].id)
        decision = theirs.link_one(person(identifiers={"local_id": "W1"}))
        linkage_store.save_features(
            conn,
            [linkage_store.LinkedRecord("roma", "welfare", "k1", decision.person_id, person())],
        )
        last = linkage_store.refresh(conn, ours, after_id=last)
        assert last > 0 and ours.records == 1
        assert linkage_store.refresh(conn, ours, after_id=last) == last  # nothing new
        again = ours.link_one(person(source="health", given_names="Muhammad"))
    assert again.person_id == decision.person_id and again.band is Band.MATCH
