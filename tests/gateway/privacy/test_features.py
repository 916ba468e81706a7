"""Keyed linkage features: nothing plain inside, stable round trip, fiscal-code evidence."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from codicefiscale import codicefiscale  # type: ignore[import-untyped]

from adapters.simulators.population import Population
from gateway.privacy.features import FeatureEncoder, LinkageFeatures, counted_parts
from gateway.privacy.names import fold
from gateway.privacy.pseudonyms import Pseudonymiser
from gateway.schema.intake import Subject
from tests.gateway.privacy.conftest import make_keyring

BIRTH = dt.date(1994, 3, 7)


def subject(**changes: object) -> Subject:
    data: dict[str, object] = {
        "family_name": "El Amrani",
        "given_names": "Mohamed",
        "sex": "M",
        "birth_date": BIRTH,
        "country_of_birth": "MAR",
    }
    data.update(changes)
    return Subject.model_validate(data)


def fiscal_code(family: str = "El Amrani", given: str = "Mohamed", birth: dt.date = BIRTH) -> str:
    return str(codicefiscale.encode(family, given, "M", birth.strftime("%d/%m/%Y"), "Z330"))


@pytest.fixture
def encoder(pseudonymiser: Pseudonymiser) -> FeatureEncoder:
    return FeatureEncoder(pseudonymiser)


def encode(encoder: FeatureEncoder, s: Subject, city: str = "roma") -> LinkageFeatures:
    return encoder.encode(s, city=city, source="welfare", seen_on=dt.date(2025, 1, 10))


def plain_strings(record_subject: dict[str, object]) -> set[str]:
    """Every way a value of the subject could be written into bytes."""
    found: set[str] = set()
    for value in record_subject["identifiers"].values():  # type: ignore[attr-defined]
        if value:
            found |= {value, value.upper(), value.lower()}
    for key in ("family_name", "given_names"):
        name = record_subject[key]
        if isinstance(name, str):
            for variant in (name, name.upper(), fold(name), *fold(name).split()):
                if len(variant) >= 4:
                    found |= {variant, variant.lower(), variant.title()}
    birth = record_subject["birth_date"]
    if isinstance(birth, dt.date):
        found |= {birth.isoformat(), birth.strftime("%d/%m/%Y"), birth.strftime("%Y%m%d")}
    return found


def test_stored_features_hold_no_name_identifier_or_birth_date(encoder: FeatureEncoder) -> None:
    records = list(itertools.islice(Population(seed=5, size=400).records(), 800))
    stored = []
    seeded: set[str] = set()
    for record in records:
        features = encoder.encode(
            Subject.model_validate(record.subject), city=record.city, source=record.system
        )
        blob = features.to_bytes()
        stored.append(blob)
        needles = plain_strings(record.subject)
        seeded |= needles
        for needle in needles:
            for encoding in ("utf-8", "utf-16-le", "latin-1"):
                try:
                    assert needle.encode(encoding) not in blob
                except UnicodeEncodeError:
                    continue
    everything = b"".join(stored)
    assert len(seeded) > 2000
    for needle in seeded:
        assert needle.encode() not in everything


def test_repr_shows_no_token(encoder: FeatureEncoder) -> None:
    features = encode(encoder, subject(identifiers={"fiscal_code": fiscal_code()}))
    text = repr(features) + repr(features.family)
    assert "El Amrani" not in text and fiscal_code() not in text
    assert features.family is not None and features.family.key.hex() not in text


def test_round_trip_through_bytes(encoder: FeatureEncoder) -> None:
    features = encode(
        encoder,
        subject(identifiers={"fiscal_code": fiscal_code(), "local_id": "A-1", "stp_code": None}),
    )
    again = LinkageFeatures.from_bytes(features.to_bytes(), city="roma", source="welfare")
    assert again == features
    with pytest.raises(ValueError, match="version"):
        LinkageFeatures.from_bytes(b"\x09" + features.to_bytes()[1:], city="roma", source="x")


@pytest.mark.parametrize(
    "changes",
    [
        {"identifiers": {"fiscal_code": fiscal_code(), "local_id": "A-1"}},
        {"identifiers": {"fiscal_code": fiscal_code(birth=dt.date(1994, 7, 3))}},
        {"family_name": None, "birth_date": None},
        {"given_names": None, "identifiers": {"local_id": "Z"}},
        {"family_name": None, "given_names": None},
    ],
)
def test_the_counted_parts_read_from_bytes_are_the_features_names_and_births(
    encoder: FeatureEncoder, changes: dict[str, object]
) -> None:
    features = encode(encoder, subject(**changes))
    names, births = counted_parts(features.to_bytes())
    assert names == [n.key for n in (features.family, features.given) if n is not None]
    assert sorted(births) == sorted(features.births)


def test_features_are_keyed(pseudonymiser: Pseudonymiser) -> None:
    ours = encode(FeatureEncoder(pseudonymiser), subject())
    theirs = encode(FeatureEncoder(Pseudonymiser(make_keyring())), subject())
    assert ours.family is not None and theirs.family is not None
    assert ours.family.key != theirs.family.key
    assert ours.family.bloom != theirs.family.bloom
    assert set(ours.blocks).isdisjoint(theirs.blocks)
    assert ours.births.isdisjoint(theirs.births)


def test_same_person_written_differently_shares_features(encoder: FeatureEncoder) -> None:
    a = encode(encoder, subject())
    b = encode(encoder, subject(family_name="ELAMRANI", given_names="Muhammad"))
    assert a.family is not None and b.family is not None
    assert a.family.key == b.family.key
    assert a.given is not None and b.given is not None and a.given.key == b.given.key
    assert a.births == b.births
    assert set(a.blocks) & set(b.blocks)


def test_a_record_without_code_meets_one_with_the_code_on_its_root(
    encoder: FeatureEncoder,
) -> None:
    with_code = encode(encoder, subject(identifiers={"fiscal_code": fiscal_code()}))
    without = encode(encoder, subject(given_names="MOHAMED"))
    assert with_code.roots & without.roots
    # The same demographics under another name do not.
    other = encode(encoder, subject(family_name="Diallo"))
    assert not (with_code.roots & other.roots)


def test_day_and_month_swapped_meet_through_the_swapped_date(encoder: FeatureEncoder) -> None:
    right = encode(encoder, subject())
    swapped = encode(encoder, subject(birth_date=dt.date(1994, 7, 3)))
    assert right.births_swapped == swapped.births
    assert right.roots & swapped.roots


def test_the_fiscal_code_supplies_what_the_record_got_wrong(encoder: FeatureEncoder) -> None:
    # Birth date swapped and sex missing in the record; the code has them right.
    record = subject(
        birth_date=dt.date(1994, 7, 3), sex=None, identifiers={"fiscal_code": fiscal_code()}
    )
    features = encode(encoder, record)
    right = encode(encoder, subject())
    assert right.births <= features.births
    assert right.sexes == features.sexes


def test_omocodic_and_plain_codes_are_one_identifier(encoder: FeatureEncoder) -> None:
    code = fiscal_code()
    omocodic = next(c for c in codicefiscale.decode(code)["omocodes"] if c != code)
    a = encode(encoder, subject(identifiers={"fiscal_code": code}))
    b = encode(encoder, subject(identifiers={"fiscal_code": omocodic}))
    assert a.strong == b.strong
    assert a.roots == b.roots


def test_a_subject_with_nothing_but_identifiers_still_encodes(encoder: FeatureEncoder) -> None:
    features = encoder.encode(
        Subject.model_validate({"identifiers": {"stp_code": "STP1201010000123"}}),
        city="roma",
        source="health",
    )
    assert features.family is None and features.given is None
    assert [kind.value for kind, _ in features.strong] == ["stp"]
    assert features.blocks == ()
