"""Every city's source passes the adapter conformance kit against its simulator.

One parametrised class: for each source of ``adapters/simulators/cities/catalogue.yaml`` a
fleet of just that system is started (people of that city only, small pages so that paging
is exercised), and the adapter is built from the city's own definition
``mappings/<city>/<source>.yaml`` with the fleet's environment, as the gateway builds it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import adapters
from adapters.base import Adapter, RawRecord
from adapters.circuit import CircuitBreakers
from adapters.simulators.cities import catalogue, systems
from adapters.simulators.cities.catalogue import SourceSpec
from adapters.simulators.fleet import Fleet
from adapters.simulators.population import Population
from adapters.testing import AdapterConformance, simulator_faults
from mappings import SourceDefinition, load_source, mappings_dir

SPECS = catalogue.sources()
# People of the source's city only, enough for ~8-15 records of its system.
PEOPLE = {"welfare": 10, "health": 12, "registry": 24, "housing": 40}
FAST = {
    "timeout": 3.0,
    "retry": {"attempts": 1, "initial_wait": 0.0, "jitter": 0.0, "max_retry_after": 1.0},
}
# The timeout fault is read with a short timeout of its own, so that a busy machine does not
# turn an ordinary answer into a timeout.
QUICK_TIMEOUT, SLOW = 0.1, 0.3


@pytest.fixture(scope="class", params=SPECS, ids=lambda spec: spec.key)
def fleet(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fleet]:
    spec: SourceSpec = request.param
    population = Population(31, PEOPLE[spec.system], cities=(spec.city,))
    drops = tmp_path_factory.mktemp(f"{spec.city}-{spec.name}")
    with Fleet(population=population, specs=[spec], drop_dir=drops, page_cap=4) as running:
        yield running


@pytest.fixture(scope="class")
def definition(fleet: Fleet) -> SourceDefinition:
    spec = fleet.specs[0]
    return load_source(mappings_dir() / spec.city / f"{spec.name}.yaml", environ=fleet.env)


def _build(fleet: Fleet, definition: SourceDefinition, **overrides: Any) -> Adapter[Any]:
    spec = fleet.specs[0]
    cls = adapters.get(definition.adapter_kind)
    options = {**definition.adapter_options, **overrides}
    if spec.kind != "csv":
        options = cls.Options.model_validate({**options, **FAST, **overrides})
        return cls(options, source=spec.key, circuit=CircuitBreakers())  # type: ignore[call-arg]
    return cls(cls.Options.model_validate(options), source=spec.key)


def _broken_drop(fleet: Fleet, kind: str, folder: Path) -> Path | None:
    """A copy of the source's first drop with a bad row (or garbage) after the good ones."""
    spec = fleet.specs[0]
    running = fleet.sources[spec.key]
    good = running.files[0].read_bytes()
    bad_byte = b"\x81" if spec.option("encoding") == "cp1252" else b"\xff"
    broken = {
        "ragged_row": good + b"only;two\r\n",
        "bad_encoding": good + b"x" + bad_byte + b";y\r\n",
        "garbage": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
    }.get(kind)
    if broken is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / running.files[0].name
    path.write_bytes(broken)
    return folder


class TestCitySource(AdapterConformance):
    resume_every = 3

    @pytest.fixture
    def adapter(self, fleet: Fleet, definition: SourceDefinition) -> Adapter[Any]:
        fleet.clear_faults()  # the server outlives each test; faults must not
        return _build(fleet, definition)

    @pytest.fixture
    def make_faulty(  # type: ignore[no-untyped-def]
        self,
        fleet: Fleet,
        definition: SourceDefinition,
        adapter: Adapter[Any],
        tmp_path: Path,
        request: pytest.FixtureRequest,
    ):
        spec = fleet.specs[0]
        if spec.kind == "csv":

            def make(kind: str) -> Adapter[Any] | None:
                folder = tmp_path / kind
                shutil.rmtree(folder, ignore_errors=True)
                if _broken_drop(fleet, kind, folder) is None:
                    return None
                return _build(fleet, definition, path=str(folder))

            return make
        faults = simulator_faults(fleet.server(spec.city, spec.name), adapter, slow=SLOW)

        def make_network(kind: str) -> Adapter[Any] | None:
            if spec.kind == "anpr" and kind == "malformed":
                return None  # the registry check answers whole requests: no record to corrupt
            chosen = faults(kind)
            if chosen is None or kind != "timeout":
                return chosen
            impatient = _build(fleet, definition, timeout=QUICK_TIMEOUT)
            request.addfinalizer(impatient.close)
            return impatient

        return make_network

    def test_reads_every_record_the_system_holds(
        self, fleet: Fleet, records: list[RawRecord]
    ) -> None:
        spec = fleet.specs[0]
        held = sorted(systems.record_id(spec, truth) for _, _, truth in fleet.served())
        if spec.kind == "anpr":  # a lookup: the code asked about is in the data, not an id
            read = sorted(str(r.data["codiceFiscale"]) for r in records)
        else:
            read = sorted(str(r.record_id) for r in records)
        assert read == held


def test_every_source_has_a_definition() -> None:
    for spec in SPECS:
        assert (mappings_dir() / spec.city / f"{spec.name}.yaml").is_file(), spec.key
