"""The catalogue of the cities' systems and how each kind renders the ground truth."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from adapters.fhir_r4_bundle import parse_bundle
from adapters.simulators.cities import catalogue, fhir, systems
from adapters.simulators.cities.csv import (
    HEALTH_REFERRALS,
    HEALTH_SERVICES,
    HOUSING_SERVICES,
    WELFARE_REFERRALS,
    WELFARE_SERVICES,
    DropWriter,
    write_drops,
)
from adapters.simulators.cities.vocabulary import CODELISTS, countries, style_table
from adapters.simulators.population import Population, specs_dir

SPECS = catalogue.sources()


def _served(spec: catalogue.SourceSpec, people: int = 30, seed: int = 5) -> list:
    population = Population(seed, people, cities=(spec.city,))
    return [
        t for p in population.people() for t in population.records_of(p) if systems.served(spec, t)
    ]


# -- the catalogue ---------------------------------------------------------------------------


def test_every_city_has_one_to_three_sources() -> None:
    cities = yaml.safe_load((specs_dir() / "cities.yaml").read_text(encoding="utf-8"))["cities"]
    per_city = Counter(spec.city for spec in SPECS)
    assert set(per_city) == {c["slug"] for c in cities}
    assert all(1 <= n <= 3 for n in per_city.values())
    assert len({spec.key for spec in SPECS}) == len(SPECS)


def test_every_kind_auth_and_paging_style_appears() -> None:
    kinds = Counter(spec.kind for spec in SPECS)
    assert kinds["soap"] >= 4 and kinds["rest"] >= 4 and kinds["csv"] >= 4
    assert kinds["fhir_r4"] >= 3 and kinds["anpr"] >= 1
    rest = [s for s in SPECS if s.kind == "rest"]
    assert {s.option("paging") for s in rest} == {"page_number", "offset", "cursor", "next_link"}
    assert {"client_secret", "private_key_jwt"} <= {s.auth for s in rest}
    assert any(s.option("link_in_body") for s in rest) and any(
        s.option("paging") == "next_link" and not s.option("link_in_body") for s in rest
    )
    soap = [s for s in SPECS if s.kind == "soap"]
    assert {s.auth for s in soap} == {"username_token", "none"}
    assert {s.option("paging") for s in soap} == {"page", "index"}
    csv = [s for s in SPECS if s.kind == "csv"]
    assert {s.option("encoding") for s in csv} == {"cp1252", "utf-8-sig"}
    assert {s.system for s in SPECS} == {"welfare", "health", "registry", "housing"}


def test_the_instrumental_bodies_run_their_cities_systems() -> None:
    bolzano = [s for s in SPECS if s.city == "bolzano"]
    assert all("Azienda Servizi Sociali di Bolzano" in s.operator for s in bolzano)
    soap = catalogue.source("bolzano", "sozialdienst-soap").vocabulary
    assert soap.local("service_type", "housing_support") == "Wohnungshilfe"
    assert soap.local("referral_target", "social_service") == "Sozialdienst"
    assert all("ANCI Liguria" in s.operator for s in SPECS if s.city == "genova")
    [housing] = [s for s in SPECS if s.city == "potenza" and s.system == "housing"]
    assert "Azienda Comunale per la Tutela Ambientale di Potenza" in housing.operator


def test_unknown_sources_and_cities_are_named() -> None:
    with pytest.raises(LookupError, match="roma/nothing"):
        catalogue.source("roma", "nothing")
    with pytest.raises(ValueError, match="atlantide"):
        catalogue.sources(["atlantide"])


# -- local codes -----------------------------------------------------------------------------


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.key)
def test_local_codes_cover_their_lists_one_to_one(spec: catalogue.SourceSpec) -> None:
    for codelist in CODELISTS:
        table = spec.vocabulary.table(codelist)
        if not table:
            continue
        if codelist == "country":
            assert set(table) == set(countries())
        else:
            path = specs_dir() / "codelists" / f"{codelist}.yaml"
            codes = yaml.safe_load(path.read_text(encoding="utf-8"))["codes"]
            assert set(table) == set(codes), codelist
        assert len(set(table.values())) == len(table), f"{codelist}: two codes share a local code"


def test_numeric_styles_number_each_city_its_own_way() -> None:
    a = style_table("service_type", "numeric", "roma")
    b = style_table("service_type", "numeric", "milano")
    assert sorted(a.values()) == sorted(b.values()) and a != b
    assert style_table("service_type", "numeric:RM|lower", "roma")["housing_support"].startswith(
        "rm"
    )


def test_overrides_change_one_local_code() -> None:
    spec = catalogue.source("roma", "welfare-soap")
    drifted = spec.with_overrides("service_type", {"language_course": "CORSO-L2-NUOVO"})
    assert drifted.vocabulary.local("service_type", "language_course") == "CORSO-L2-NUOVO"
    assert spec.vocabulary.local("service_type", "language_course") != "CORSO-L2-NUOVO"
    assert drifted.vocabulary.inverse("service_type")["CORSO-L2-NUOVO"] == "language_course"


# -- rendering -------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.key)
def test_samples_are_deterministic(spec: catalogue.SourceSpec) -> None:
    first = systems.sample(spec, _served(spec, 12))
    assert first == systems.sample(spec, _served(spec, 12))
    assert first[1]


def test_csv_drops_have_the_quirks_of_office_exports(tmp_path: Path) -> None:
    latina = catalogue.source("latina", "welfare-csv")
    files = write_drops(latina, _served(latina, 40), tmp_path / "latina")
    assert [f.name for f in files] == sorted(f.name for f in files)
    assert all(f.name.startswith("latina_cartelle_") for f in files)
    body = b"".join(f.read_bytes() for f in files)
    text = body.decode("cp1252")
    lines = files[0].read_bytes().decode("cp1252").split("\r\n")
    assert lines[0] == "Comune di Latina" and lines[2] == ""  # preamble, then the header
    assert lines[3].startswith("ID_CARTELLA;ULTIMA_MODIFICA;") and "NOMI" in lines[3]
    assert ";No\r\n" in text and b"\xef\xbb\xbf" not in body
    row = lines[4].split(";")
    assert row[1][2] == "/" and row[1][5] == "/" and ":" in row[1]  # dd/mm/yyyy hh:mm, local
    assert all(c.isdigit() or c == "." for c in row[4]) and "." in row[4]  # 1.234.567

    bolzano = catalogue.source("bolzano", "wohnungshilfe-csv")
    with DropWriter(bolzano, tmp_path / "bz") as writer:
        for truth in _served(bolzano, 60):
            writer.add(truth)
    german = (tmp_path / "bz").glob("wohnungshilfe_*.csv")
    raw = b"".join(p.read_bytes() for p in german)
    assert raw.startswith(b"\xef\xbb\xbf") and "Nein\r\n" in raw.decode("utf-8-sig")
    assert "Wohnungshilfe" in raw.decode("utf-8-sig")


def test_csv_column_groups_hold_every_record_the_population_makes() -> None:
    most: dict[str, tuple[int, int]] = {}
    for truth in Population(11, 2500).records():
        services, referrals = most.get(truth.system, (0, 0))
        most[truth.system] = (
            max(services, len(truth.services)),
            max(referrals, len(truth.referrals)),
        )
    assert most["welfare"][0] <= WELFARE_SERVICES and most["welfare"][1] <= WELFARE_REFERRALS
    assert most["health"] <= (HEALTH_SERVICES, HEALTH_REFERRALS)
    assert most["housing"][0] <= HOUSING_SERVICES
    spec = catalogue.source("torino", "welfare-csv")
    truth = _served(spec, 10)[0]
    too_many = truth.services * (WELFARE_SERVICES + 1)
    with pytest.raises(ValueError, match="column groups"):
        systems.render(spec, replace(truth, services=too_many))


def test_windows_1252_exports_replace_what_they_cannot_write(tmp_path: Path) -> None:
    spec = catalogue.source("latina", "welfare-csv")
    truth = _served(spec, 10)[0]
    truth.subject["family_name"] = "ȘTEFĂNESCU"  # Romanian letters outside Windows-1252
    [path] = write_drops(spec, [truth], tmp_path)
    assert "?TEF?NESCU" in path.read_bytes().decode("cp1252")


def test_fhir_resources_are_valid_r4_and_follow_the_source(tmp_path: Path) -> None:
    milano = catalogue.source("milano", "health-fhir")
    records = _served(milano, 40)
    parsed = parse_bundle(fhir.bundle(r for t in records for r in fhir.render(milano, t)))
    assert len(parsed.records) == len(records)
    assert not any(r.problem for r in parsed.records) and not parsed.stats.skipped
    patient = fhir.render(milano, records[0])[0]
    systems_used = {i["system"] for i in patient["identifier"]}
    assert systems_used & {
        "urn:oid:2.16.840.1.113883.2.9.4.3.2",
        "http://hl7.it/sid/lombardia/stp",
        "http://hl7.it/sid/lombardia/eni",
    }


def test_the_registry_check_asks_about_every_code_the_city_knows() -> None:
    roma = catalogue.source("roma", "registry-anpr")
    records = _served(roma, 60)
    assert records and all(systems.record_id(roma, t) for t in records)
    _, body = systems.sample(roma, records)
    answers = json.loads(body)
    assert {a["resident"] for a in answers} <= {"yes", "no", "unknown"}
    for truth, answer in zip(records, answers, strict=True):
        code = systems.record_id(roma, truth)
        assert answer["codiceFiscale"] == code
        carried = systems.carried(roma, truth)
        assert code in (carried["fiscal_code"], carried["provisional_fiscal_code"])
        if len(code) == 11:
            assert answer["resident"] == "unknown"
