"""The fleet: every city's systems from one population, their variables, faults, samples."""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import adapters
from adapters.simulators.cities import catalogue, systems
from adapters.simulators.fleet import Fleet
from adapters.simulators.http import Fault
from adapters.simulators.population import Population
from mappings import load_source, mappings_dir
from mappings.envvars import resolve_all, variables, walk_strings

SECRET = "fleet-test-secret"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    drops = tmp_path_factory.mktemp("drops")
    with Fleet(seed=54, people=150, drop_dir=drops, secret=SECRET) as running:
        yield running


def test_every_source_definition_finds_its_variables(fleet: Fleet) -> None:
    needed: set[str] = set()
    for spec in catalogue.sources():
        definition = load_source(
            mappings_dir() / spec.city / f"{spec.name}.yaml", resolve_env=False
        )
        options = definition.nodes.adapter.options
        for _, text in walk_strings(options):
            needed.update(variables(text))
        assert "${" not in str(resolve_all(options, fleet.env))
    assert needed == set(fleet.env)


def test_each_system_holds_its_citys_records(fleet: Fleet) -> None:
    held = Counter(spec.key for spec, _, _ in fleet.served())
    for key, running in fleet.sources.items():
        assert running.records == held[key], key
    assert sum(held.values()) > 250
    drops = fleet.sources["torino/welfare-csv"]
    assert drops.server is None and all(Path(f).is_file() for f in drops.files)
    assert Path(drops.location) == Path(fleet.env["LGNET_TORINO_WELFARE_CSV_DROP"])
    codes = Path(fleet.env["LGNET_ROMA_REGISTRY_ANPR_CODES"]).read_text().split()
    assert len(codes) == held["roma/registry-anpr"]


def test_the_registry_check_knows_who_lives_where(fleet: Fleet) -> None:
    spec = catalogue.source("roma", "registry-anpr")
    url = fleet.env[spec.env("url")] + "/C020-servizioAccertamentoResidenza/v1/anpr-service-e002"
    token = fleet.env[spec.env("token")]
    answered = 0
    for served_spec, person, truth in fleet.served():
        code = systems.record_id(served_spec, truth) if served_spec == spec else None
        if code is None or len(code) != 16:
            continue
        body = {
            "idOperazioneClient": f"t{answered}",
            "criteriRicerca": {"codiceFiscale": code},
            "datiRichiesta": {
                "dataRiferimentoRichiesta": "2025-12-31",
                "motivoRichiesta": "test",
                "casoUso": "C020",
            },
        }
        answer = httpx.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
        comune = answer.json()["listaSoggetti"]["datiSoggetto"][0]["residenza"][0]["indirizzo"]
        assert (comune["comune"]["codiceCatastale"] == "H501") == (person.cities[-1] == "roma")
        answered += 1
    assert answered >= 3


def test_faults_pass_through_to_one_server_or_all(fleet: Fleet) -> None:
    soap = fleet.server("roma", "welfare-soap")
    fleet.inject(Fault("status", status=503, times=1), city="roma", source="welfare-soap")
    url = soap.url + "/cartellasociale?wsdl"
    assert httpx.get(url).status_code == 503
    assert httpx.get(url).status_code == 200
    fleet.inject(Fault("status", status=500, times=None))
    try:
        for running in fleet.sources.values():
            if running.server is not None:
                assert httpx.get(running.server.url + "/").status_code == 500
    finally:
        fleet.clear_faults()
    assert httpx.get(url).status_code == 200
    with pytest.raises(LookupError, match="drops"):
        fleet.server("torino", "welfare-csv")


def test_credentials_come_from_the_secret(fleet: Fleet, tmp_path: Path) -> None:
    specs = [catalogue.source("roma", "welfare-soap"), catalogue.source("firenze", "welfare-rest")]
    population = Population(54, 20, cities=("roma", "firenze"))
    with Fleet(population=population, specs=specs, secret=SECRET, drop_dir=tmp_path) as again:
        for name, value in again.env.items():
            if not name.endswith("_URL"):
                assert value == fleet.env[name], name
    with Fleet(population=population, specs=specs, drop_dir=tmp_path) as other:
        assert (
            other.env["LGNET_ROMA_WELFARE_SOAP_PASSWORD"]
            != fleet.env["LGNET_ROMA_WELFARE_SOAP_PASSWORD"]
        )


def test_fixed_ports_are_consecutive(tmp_path: Path) -> None:
    specs = catalogue.sources(["trieste"])
    population = Population(1, 10, cities=("trieste",))
    with socket.socket() as probe:  # a port free right now, and most likely the next one
        probe.bind(("127.0.0.1", 0))
        base = probe.getsockname()[1]
    with Fleet(population=population, specs=specs, base_port=base, drop_dir=tmp_path) as f:
        ports = [int(r.location.rsplit(":", 1)[1]) for r in f.sources.values()]
    assert ports == [base, base + 1]


def test_people_are_bounded() -> None:
    with pytest.raises(ValueError, match="1,000,000"):
        Fleet(people=1_000_001)


def test_samples_are_written_for_every_source(fleet: Fleet, tmp_path: Path) -> None:
    written = fleet.write_samples(tmp_path, limit=3)
    assert len(written) == len(fleet.specs)
    # REST pages, FHIR Bundles and registry answers; CSV exports; SOAP answers.
    assert Counter(path.suffix for path in written) == {".json": 18, ".csv": 9, ".xml": 6}
    assert (tmp_path / "bolzano" / "sozialdienst-soap.xml").is_file()


def test_a_public_host_names_every_url_clients_follow(tmp_path: Path) -> None:
    """Servers in a container listen on one address and are reached by another name: next
    links, FHIR Bundle links and OAuth2 audiences must use the name clients know."""
    keys = ("genova/welfare-rest", "taranto/welfare-rest", "torino/health-fhir")
    specs = [catalogue.source(*key.split("/")) for key in keys]
    population = Population(5, 40, cities=("genova", "taranto", "torino"))
    with Fleet(
        population=population, specs=specs, public_host="localhost", drop_dir=tmp_path, page_cap=3
    ) as fleet:
        held = Counter(spec.key for spec, _, _ in fleet.served())
        for spec in specs:
            assert fleet.env[spec.env("url")].startswith("http://localhost:")
            definition = load_source(
                mappings_dir() / spec.city / f"{spec.name}.yaml", environ=fleet.env
            )
            cls = adapters.get(definition.adapter_kind)
            with cls(cls.Options.model_validate(definition.adapter_options)) as adapter:
                records = list(adapter.fetch(None))
            assert len(records) == held[spec.key] > 3, spec.key
            assert not any(r.problem for r in records)
