"""The simulated systems of every (or some) LGNet city, started together from one population.

::

    with Fleet(seed=7, people=2000, cities=["roma", "bolzano"], drop_dir=tmp) as fleet:
        os.environ.update(fleet.env)            # what mappings/<city>/<source>.yaml read
        fleet.sources["roma/welfare-soap"]      # RunningSource: server, location, records
        fleet.inject(Fault("status", status=503), city="roma", source="welfare-soap")
        for spec, person, truth in fleet.served(): ...   # who is who, regenerated

The people come from :class:`~adapters.simulators.population.Population` (deterministic from
``seed``); each city's systems (``cities/catalogue.yaml``) hold the records of their city and
system, rendered in the city's layout and local codes. SOAP, REST, FHIR and registry-check
servers listen on loopback (ephemeral ports, or consecutive ones from ``base_port``); CSV
sources are drop files written under ``drop_dir/<city>/<source>/``.

**Scale and memory** (``benchmarks/bench_simulators.py``). People are generated once and
streamed; CSV rows and registry codes go straight to files. Servers hold their rendered
records in memory: about 4.5 KB a record, ~10 KB a person across all 18 cities, so 100,000
people take ~1 GB and a million ~10 GB. A fleet is built at ~1,500 people a second (0.4x the
bare population generator): a million people take ~11 minutes. For the top of the range,
simulate a few cities at a time (their servers hold only their records) or CSV-only cities
(constant memory).
"""

from __future__ import annotations

import secrets
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from adapters.simulators.cities import anpr, catalogue, systems
from adapters.simulators.cities.catalogue import SourceSpec
from adapters.simulators.cities.csv import DropWriter
from adapters.simulators.cities.servers import RunningSource, start_source
from adapters.simulators.http import Fault, SimulatorServer
from adapters.simulators.population import Population
from adapters.simulators.truth import Person, SourceRecordTruth

__all__ = ["Fleet"]


class Fleet:
    """Every simulated system of ``cities`` (default: all 18), holding ``people`` people.

    ``population`` replaces the default ``Population(seed, people)`` (e.g. one restricted to
    a few cities), ``specs`` the catalogue's sources; ``secret`` derives the credentials
    (random by default); ``public_host`` is the host name clients use when the servers
    listen on another address (``host="0.0.0.0"`` in a container: ``public_host`` its name);
    ``page_cap`` is the largest page a REST server answers;
    ``progress`` is told, while records are generated, every thousand people.
    """

    def __init__(
        self,
        *,
        seed: int = 7,
        people: int = 1000,
        cities: Iterable[str] | None = None,
        drop_dir: str | Path | None = None,
        population: Population | None = None,
        specs: Sequence[SourceSpec] | None = None,
        secret: str | None = None,
        host: str = "127.0.0.1",
        public_host: str | None = None,
        base_port: int | None = None,
        page_cap: int = 50,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        if not 0 <= people <= 1_000_000:
            raise ValueError("people must be between 0 and 1,000,000")
        self.population = population or Population(seed, people)
        selected = tuple(cities) if cities is not None else None
        self.specs: list[SourceSpec] = list(specs or catalogue.sources(selected))
        self.secret = secret or secrets.token_hex(16)
        self.host, self.public_host = host, public_host
        self.base_port, self.page_cap = base_port, page_cap
        self._progress = progress
        self._drop_arg = Path(drop_dir) if drop_dir is not None else None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.drop_dir: Path | None = None
        self.sources: dict[str, RunningSource] = {}
        self.env: dict[str, str] = {}

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> Fleet:
        """Generate the records, write the files and start every server."""
        if self._drop_arg is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="lgnet-drops-")
            self.drop_dir = Path(self._tmp.name)
        else:
            self.drop_dir = self._drop_arg
        records, counts, writers, codes, residents = self._generate(self.drop_dir)
        files = {key: writer.close() for key, writer in writers.items()}
        port = self.base_port
        try:
            for spec in self.specs:
                folder = self.drop_dir / spec.city / spec.name
                if spec.kind == "csv":
                    folder.mkdir(parents=True, exist_ok=True)  # an empty city has no drops yet
                running = start_source(
                    spec,
                    records.get(spec.key, []),
                    secret=self.secret,
                    folder=folder,
                    files=files.get(spec.key, []),
                    codes_file=codes.get(spec.key),
                    residents=residents.get(spec.key),
                    host=self.host,
                    port=port or 0,
                    public_host=self.public_host,
                    page_cap=self.page_cap,
                )
                running.records = counts[spec.key]
                if port is not None and running.server is not None:
                    port += 1
                self.sources[spec.key] = running
                self.env.update(running.env)
        except BaseException:
            self.stop()
            raise
        return self

    def _generate(
        self, drop_dir: Path
    ) -> tuple[
        dict[str, list[Any]],
        Counter[str],
        dict[str, DropWriter],
        dict[str, Path],
        dict[str, dict[str, str]],
    ]:
        """Records for the servers, counts per source, CSV writers, code files, residents."""
        records: dict[str, list[Any]] = {}
        counts: Counter[str] = Counter()
        writers: dict[str, DropWriter] = {}
        codes: dict[str, Path] = {}
        residents: dict[str, dict[str, str]] = {}
        handles = {}
        for spec in self.specs:
            if spec.kind == "csv":
                writers[spec.key] = DropWriter(spec, drop_dir / spec.city / spec.name)
            elif spec.kind == "anpr":
                path = drop_dir / spec.city / spec.name / "codici_da_verificare.txt"
                path.parent.mkdir(parents=True, exist_ok=True)
                codes[spec.key] = path
                handles[spec.key] = path.open("w", encoding="utf-8", newline="\n")
                residents[spec.key] = {}
        try:
            for spec, person, truth in self.served(self._progress):
                counts[spec.key] += 1
                if spec.kind == "csv":
                    writers[spec.key].add(truth)
                elif spec.kind == "anpr":
                    handles[spec.key].write(systems.record_id(spec, truth) + "\n")
                    found = anpr.residence(person, truth)
                    if found is not None:
                        residents[spec.key][found[0]] = found[1]
                else:
                    records.setdefault(spec.key, []).append(systems.render(spec, truth))
        except BaseException:
            for writer in writers.values():
                writer.close()
            raise
        finally:
            for handle in handles.values():
                handle.close()
        return records, counts, writers, codes, residents

    def stop(self) -> None:
        """Stop every server and remove the drops of a temporary folder."""
        for running in self.sources.values():
            running.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Fleet:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- the truth ---------------------------------------------------------------------
    def served(
        self, progress: Callable[[int], None] | None = None
    ) -> Iterator[tuple[SourceSpec, Person, SourceRecordTruth]]:
        """Every record a simulated system holds, with its system and its person (the ground
        truth), regenerated from the seed: person by person, nothing kept. ``progress`` is
        told every thousand people."""
        by_place: dict[tuple[str, str], list[SourceSpec]] = {}
        for spec in self.specs:
            by_place.setdefault((spec.city, spec.system), []).append(spec)
        for done, person in enumerate(self.population.people(), start=1):
            if progress is not None and done % 1000 == 0:
                progress(done)
            for truth in self.population.records_of(person):
                for spec in by_place.get((truth.city, truth.system), ()):
                    if systems.served(spec, truth):
                        yield spec, person, truth

    # -- servers -----------------------------------------------------------------------
    def server(self, city: str, source: str) -> SimulatorServer:
        """The server of ``city/source`` (``LookupError`` for a CSV source: it has none)."""
        server = self.sources[f"{city}/{source}"].server
        if server is None:
            raise LookupError(f"{city}/{source} is a folder of drops, not a server")
        return server

    def inject(self, fault: Fault, *, city: str | None = None, source: str | None = None) -> None:
        """Inject ``fault`` into every server (of ``city``, or of ``city/source``)."""
        for running in self._selected(city, source):
            if running.server is not None:
                running.server.inject(Fault(**vars(fault)))

    def clear_faults(self, *, city: str | None = None, source: str | None = None) -> None:
        for running in self._selected(city, source):
            if running.server is not None:
                running.server.clear_faults()

    def _selected(self, city: str | None, source: str | None) -> list[RunningSource]:
        return [
            r
            for r in self.sources.values()
            if (city is None or r.spec.city == city) and (source is None or r.spec.name == source)
        ]

    # -- samples -----------------------------------------------------------------------
    def write_samples(self, folder: str | Path, *, limit: int | None = None) -> list[Path]:
        """Write each source's records (the first ``limit``) as a sample file
        ``folder/<city>/<source>.<ext>``, for ``lgnet mapping explain|coverage``."""
        chosen: dict[str, list[SourceRecordTruth]] = {spec.key: [] for spec in self.specs}
        for spec, _, truth in self.served():
            if limit is None or len(chosen[spec.key]) < limit:
                chosen[spec.key].append(truth)
        written = []
        for spec in self.specs:
            suffix, body = systems.sample(spec, chosen[spec.key])
            path = Path(folder) / spec.city / f"{spec.name}{suffix}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
            written.append(path)
        return written
