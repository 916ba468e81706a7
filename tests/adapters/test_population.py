"""The ground-truth population: deterministic, valid codes, the noise it promises, streamed."""

from __future__ import annotations

import itertools
import time
from collections import Counter

import pytest
import yaml
from codicefiscale import codicefiscale  # type: ignore[import-untyped]

from adapters.simulators.names import load_origins
from adapters.simulators.population import (
    RATES,
    SYSTEMS,
    Person,
    Population,
    SourceRecordTruth,
)
from gateway.paths import specs_dir
from gateway.privacy.identifiers import (
    Kind,
    decode_fiscal_code,
    normalise_provisional_fiscal_code,
    normalise_stp_eni,
)
from gateway.schema.intake import IntakeRecord

PEOPLE = 3000


@pytest.fixture(scope="module")
def people() -> list[Person]:
    return list(Population(seed=11, size=PEOPLE).people())


@pytest.fixture(scope="module")
def records() -> list[SourceRecordTruth]:
    return list(Population(seed=11, size=PEOPLE).records())


def test_the_same_seed_gives_the_same_records() -> None:
    first = [r.intake() for r in Population(seed=7, size=200).records()]
    again = [r.intake() for r in Population(seed=7, size=200).records()]
    other = [r.intake() for r in Population(seed=8, size=200).records()]
    assert first == again
    assert first != other


def test_a_larger_population_starts_with_the_same_people() -> None:
    small = [(p.person_id, p.family_name, p.birth_date) for p in Population(3, 50).people()]
    large = Population(3, 5000).people()
    assert small == [
        (p.person_id, p.family_name, p.birth_date) for p in itertools.islice(large, 50)
    ]


def test_every_record_is_a_valid_intake_record(records: list[SourceRecordTruth]) -> None:
    for record in records[:3000]:
        IntakeRecord.model_validate(record.intake())
    assert {r.system for r in records} == set(SYSTEMS)


def test_each_person_appears_in_one_to_four_systems_of_one_or_two_cities(
    people: list[Person], records: list[SourceRecordTruth]
) -> None:
    by_person: dict[int, set[tuple[str, str]]] = {}
    for record in records:
        by_person.setdefault(record.person_id, set()).add((record.city, record.system))
    assert set(by_person) == {p.person_id for p in people}
    for places in by_person.values():
        assert 1 <= len({city for city, _ in places}) <= 2
        assert 1 <= len({system for _, system in places}) <= 4
    with (specs_dir() / "cities.yaml").open() as handle:
        slugs = {c["slug"] for c in yaml.safe_load(handle)["cities"]}
    assert {r.city for r in records} == slugs
    assert 2.6 <= len(records) / len(people) <= 3.4  # 10,000 people give 30,000 records


def test_fiscal_codes_are_the_ones_the_agenzia_would_compute(people: list[Person]) -> None:
    with (specs_dir() / "codelists" / "country.yaml").open() as handle:
        belfiore = {k: v.get("belfiore") for k, v in yaml.safe_load(handle)["codes"].items()}
    coded = [p for p in people if p.fiscal_code]
    codes = [p.fiscal_code for p in coded]
    assert len(set(codes)) == len(codes)
    for person in coded[:60]:
        place = (
            belfiore.get(person.country_of_birth)
            or decode_fiscal_code(person.fiscal_code or "").place_code
        )
        expected = codicefiscale.encode(
            person.family_name,
            person.given_names,
            person.sex,
            person.birth_date.strftime("%d/%m/%Y"),
            place,
        )
        assert person.fiscal_code == expected
    for person in coded:
        decoded = decode_fiscal_code(person.fiscal_code or "")
        assert (decoded.birth_date, decoded.sex) == (person.birth_date, person.sex)
        if person.country_of_birth != "ITA":
            assert decoded.place_code == belfiore[person.country_of_birth]


def test_codes_in_records_are_valid(records: list[SourceRecordTruth]) -> None:
    kinds: Counter[str] = Counter()
    for record in records:
        ids = record.subject["identifiers"]
        if ids["fiscal_code"]:
            decode_fiscal_code(ids["fiscal_code"])
            kinds["cf"] += 1
        if ids["provisional_fiscal_code"]:
            normalise_provisional_fiscal_code(ids["provisional_fiscal_code"])
            kinds["cfp"] += 1
        for field, kind in (("stp_code", Kind.STP), ("eni_code", Kind.ENI)):
            if ids[field]:
                assert normalise_stp_eni(ids[field], kind)[0] is kind
                kinds[field] += 1
    assert min(kinds.values()) > 10, kinds


def test_people_noise_rates(people: list[Person]) -> None:
    no_cf = sum(p.fiscal_code is None for p in people) / len(people)
    switched = sum(p.final_code_from is not None for p in people) / len(people)
    assert abs(no_cf - RATES["no_cf"]) < 0.03
    assert abs(switched - RATES["provisional_to_final"]) < 0.03


def test_record_noise_rates(records: list[SourceRecordTruth]) -> None:
    noise: Counter[str] = Counter()
    for record in records:
        noise.update(record.noise)
    typed = [r for r in records if r.system != "registry"]  # the registry copies documents
    assert abs(sum("day_month_swap" in r.noise for r in typed) / len(typed) - 0.05) < 0.012
    assert abs(sum("swapped_names" in r.noise for r in typed) / len(typed) - 0.04) < 0.01
    assert 0.12 < noise["transliteration"] / len(records) < 0.30
    for label in ("particle", "double_letter", "accents", "unicode", "typo", "partial_name",
                  "omocode", "missing_cf", "stp_renewal"):  # fmt: skip
        assert noise[label] > 0, label


def test_stp_codes_are_renewed_with_new_codes(records: list[SourceRecordTruth]) -> None:
    codes: dict[int, set[str]] = {}
    for record in records:
        code = record.subject["identifiers"]["stp_code"]
        if code:
            codes.setdefault(record.person_id, set()).add(code)
    renewed = [c for c in codes.values() if len(c) > 1]
    assert renewed
    every = [code for c in codes.values() for code in c]
    assert len(every) == len(set(every))  # never the same code for two people


def test_provisional_codes_give_way_to_final_ones(
    people: list[Person], records: list[SourceRecordTruth]
) -> None:
    switchers = {p.person_id: p for p in people if p.final_code_from}
    bridged = 0
    for record in records:
        person = switchers.get(record.person_id)
        if person is None or person.final_code_from is None:
            continue
        ids = record.subject["identifiers"]
        day = record.updated_at.date()
        if day < person.final_code_from:
            assert ids["fiscal_code"] is None
        bridged += bool(ids["fiscal_code"] and ids["provisional_fiscal_code"])
    assert bridged > 0


def test_muhammad_has_at_least_fourteen_spellings_and_origins_have_variants() -> None:
    origins = load_origins()
    with (specs_dir().parent / "adapters" / "simulators" / "names.yaml").open() as handle:
        shared = yaml.safe_load(handle)["shared"]
    assert len(shared["muhammad"].split("|")) >= 14
    assert {o.name for o in origins} >= {
        "north_africa", "west_africa", "south_asia", "eastern_europe", "latin_america",
        "middle_east",
    }  # fmt: skip
    for origin in origins:
        assert sum(spec.has_variants for spec in origin.family) >= 10, origin.name


def test_programme_shares(people: list[Person]) -> None:
    channels = Counter(p.intake_channel for p in people)
    assert 0.38 < channels["mobile_unit"] / len(people) < 0.50
    assert 0.34 < channels["one_stop_shop"] / len(people) < 0.46
    services = [{s[0] for s in p.services} for p in people]
    housing = sum("housing_support" in s for s in services) / len(people)
    civic = sum("civic_engagement_project" in s for s in services) / len(people)
    assert 0.12 < housing < 0.18
    assert 0.17 < civic < 0.23


def test_a_million_people_are_streamed_not_built() -> None:
    population = Population(seed=1, size=1_000_000)
    started = time.perf_counter()
    first = list(itertools.islice(population.records(), 2000))
    assert time.perf_counter() - started < 20  # nothing is built ahead of what is read
    assert first[0].person_id == 1
    assert len({r.person_id for r in first}) < 1000
