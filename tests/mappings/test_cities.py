"""The 18 cities' source definitions (``mappings/<city>/``) against their simulated systems.

- each definition's code maps hold the inverse of its system's local codes;
- each definition turns the system's records back into the ground truth (identifiers,
  demographics, case, services, referrals, residence);
- ``coverage`` finds no unmapped local code in the simulated data, and finds the one a
  system starts writing (drift).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

from adapters.simulators.cities import catalogue, systems
from adapters.simulators.cities.catalogue import SourceSpec
from adapters.simulators.cities.formats import local_number
from adapters.simulators.fleet import Fleet
from adapters.simulators.population import Population
from adapters.simulators.truth import SourceRecordTruth
from mappings import SourceDefinition, compile, coverage, load_source, mappings_dir, read_samples
from mappings.golden import jsonable

SPECS = catalogue.sources()
MAP_NAMES = {
    "sex": "sex",
    "country": "country",
    "permit_category": "permit",
    "intake_channel": "channel",
    "case_status": "status",
    "vulnerability": "vulnerability",
    "service_type": "service",
    "service_status": "service_status",
    "referral_target": "referral",
    "referral_outcome": "outcome",
}
# Systems that keep person numbers as numbers: "CS00012345" is written 12.345 or 12345.
NUMERIC_IDS = {"welfare_it", "housing_de", "acta_housing"}


@cache
def definition(spec: SourceSpec) -> SourceDefinition:
    return load_source(mappings_dir() / spec.city / f"{spec.name}.yaml", resolve_env=False)


def served(spec: SourceSpec, people: int) -> list[SourceRecordTruth]:
    population = Population(77, people, cities=(spec.city,))
    return [
        t for p in population.people() for t in population.records_of(p) if systems.served(spec, t)
    ]


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.key)
def test_code_maps_are_the_inverse_of_the_local_codes(spec: SourceSpec) -> None:
    maps = definition(spec).nodes.code_maps
    for codelist, style in spec.vocabulary.styles.items():
        if codelist == "country" and style == "iso3":
            assert "country" not in maps  # ISO codes pass through, checked by the schema
            continue
        code_map = maps[MAP_NAMES[codelist]]
        assert code_map.codelist == codelist
        for local, common in spec.vocabulary.inverse(codelist).items():
            assert code_map.codes.get(local) == common, f"{codelist}: {local}"


def _expected_ids(spec: SourceSpec, truth: SourceRecordTruth) -> dict[str, str]:
    ids = {k: v for k, v in systems.carried(spec, truth).items() if v}
    if spec.layout in NUMERIC_IDS and "local_id" in ids:
        ids["local_id"] = str(local_number(ids["local_id"]))
    return ids


def _items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    clean = [{k: v for k, v in jsonable(item).items() if v is not None} for item in items]
    return sorted(clean, key=repr)


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.key)
def test_records_map_back_to_the_ground_truth(spec: SourceSpec, tmp_path: Path) -> None:
    truths = served(spec, {"housing": 60, "registry": 40}.get(spec.system, 25))
    suffix, body = systems.sample(spec, truths)
    sample = tmp_path / f"sample{suffix}"
    sample.write_bytes(body)
    samples = read_samples(sample, definition(spec))
    assert len(samples) == len(truths) >= 3
    mapper = compile(definition(spec))
    by_id = {systems.record_id(spec, t): t for t in truths}
    for item in samples:
        out = jsonable(mapper(item.data, item.record_id, item.updated_at, item.deleted))
        truth = by_id[out["source"]["record_id"]]
        want = jsonable(truth.intake(spec.name))
        subject = out["subject"]
        assert {k: v for k, v in subject["identifiers"].items() if v} == _expected_ids(spec, truth)
        if spec.kind == "anpr":
            resident = want["subject"]["resident_in_city"]
            code = systems.record_id(spec, truth)
            assert subject.get("resident_in_city") == (resident if len(code) == 16 else None)
            continue
        for name in ("sex", "birth_date", "country_of_birth", "citizenship", "arrival_date"):
            assert subject.get(name) == want["subject"][name], name
        assert subject.get("permit_type") == want["subject"]["permit_type"]
        assert subject.get("languages", []) == want["subject"]["languages"]
        if spec.layout == "registry_it":
            assert subject["resident_in_city"] == want["subject"]["resident_in_city"]
        if want["case"] is not None:
            for name in ("opened_on", "intake_channel", "status"):
                assert out["case"].get(name) == want["case"][name], name
            assert sorted(out["case"].get("vulnerabilities", [])) == want["case"]["vulnerabilities"]
        assert _items(out.get("services", [])) == _items(want["services"])
        assert _items(out.get("referrals", [])) == _items(want["referrals"])


@pytest.fixture(scope="module")
def national_samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every source's records of a national population of 400, as sample files."""
    folder = tmp_path_factory.mktemp("samples")
    Fleet(seed=54, people=400).write_samples(folder)
    return folder


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.key)
def test_coverage_finds_no_unmapped_code_in_the_simulated_data(
    spec: SourceSpec, national_samples: Path
) -> None:
    [sample] = (national_samples / spec.city).glob(f"{spec.name}.*")
    samples = read_samples(sample, definition(spec))
    assert samples
    report = coverage(definition(spec), samples)
    assert set(report) == set(definition(spec).nodes.code_maps)
    assert {name: dict(counts) for name, counts in report.items() if counts} == {}


def test_a_new_local_code_shows_in_coverage(tmp_path: Path) -> None:
    spec = catalogue.source("roma", "welfare-soap")
    drifted = spec.with_overrides("service_type", {"language_course": "RM-L2-NUOVO"})
    truths = [
        t for t in served(spec, 60) if any(s["type"] == "language_course" for s in t.services)
    ]
    assert truths
    suffix, body = systems.sample(drifted, truths)
    sample = tmp_path / f"drifted{suffix}"
    sample.write_bytes(body)
    report = coverage(definition(spec), read_samples(sample, definition(spec)))
    courses = sum(1 for t in truths for s in t.services if s["type"] == "language_course")
    assert dict(report["service"]) == {"RM-L2-NUOVO": courses}
    assert not any(counts for name, counts in report.items() if name != "service")
