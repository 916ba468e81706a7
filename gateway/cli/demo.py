"""``lgnet demo``: every simulated city end to end on the embedded database, then the KPIs.

It starts the simulated systems of the 18 cities (SOAP, REST, FHIR and registry servers on
loopback, CSV drops in a temporary folder), syncs every source definition of ``mappings/``
into a fresh SQLite database, and prints the programme KPIs with progress toward the targets,
the linkage quality measured against the simulators' ground truth, and how to serve the
result. Everything is synthetic; nothing leaves the machine.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine, select

from gateway.cli.summaries import kpi_tables, progress_table
from gateway.privacy.pseudonyms import Pseudonymiser
from gateway.settings import Settings, load_settings
from gateway.storage import make_engine, upgrade
from gateway.storage.tables import CaseRow, SourceRecordRow
from gateway.summaries.preaggregate import refresh
from gateway.summaries.report import SummaryRequest, summarise
from gateway.sync import sources
from gateway.sync.pipeline import IngestReport
from gateway.sync.runner import RunResult, sync_all

if TYPE_CHECKING:
    from adapters.simulators.fleet import Fleet

app = typer.Typer()


@dataclass(frozen=True)
class LinkageQuality:
    """Pairwise linkage quality of the stored pids against the ground truth."""

    records: int
    people: int
    pids: int
    true_pairs: int
    found_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.found_pairs if self.found_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0


def _pairs(counts: Iterable[int]) -> int:
    return sum(n * (n - 1) // 2 for n in counts)


def linkage_quality(labelled: list[tuple[str, int]]) -> LinkageQuality:
    """``labelled`` holds, per served record, the pid it got and the person it really is."""
    by_pid = Counter(pid for pid, _ in labelled)
    by_person = Counter(person for _, person in labelled)
    by_both = Counter(labelled)
    return LinkageQuality(
        records=len(labelled),
        people=len(by_person),
        pids=len(by_pid),
        true_pairs=_pairs(by_person.values()),
        found_pairs=_pairs(by_pid.values()),
        correct_pairs=_pairs(by_both.values()),
    )


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """The simulators' URLs and credentials, for the source definitions' ``${ENV}``s."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _fresh_database(path: Path) -> tuple[str, Engine]:
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    return url, engine


def _sync(engine: Engine, settings: Settings, fleet: Fleet, console: Console) -> list[RunResult]:
    found = sources.discover(settings)
    columns = (
        TextColumn("{task.description:<34}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as bar:
        tasks = {
            source.key: bar.add_task(
                source.key, total=fleet.sources[source.key].records or None, start=False
            )
            for source in found
        }

        def progress(source: sources.Source, report: IngestReport) -> None:
            task = tasks[source.key]
            bar.start_task(task)
            bar.update(task, completed=report.read)

        results = sync_all(engine, settings, found, progress=progress)
        for result in results:
            task = tasks[f"{result.city}/{result.source}"]
            bar.start_task(task)
            bar.update(task, completed=result.report.read, total=result.report.read)
    return results


def _label(engine: Engine, settings: Settings, fleet: Fleet) -> list[tuple[str, int]]:
    """Each served record's stored pid beside its true person (via the keyed record id)."""
    pseudonymiser = Pseudonymiser.from_settings(settings)
    with engine.connect() as connection:
        pid_of_case = dict(connection.execute(select(CaseRow.id, CaseRow.pid)).tuples().all())
        case_of_record = {
            (city, source, key): case_pk
            for city, source, key, case_pk in connection.execute(
                select(
                    SourceRecordRow.city,
                    SourceRecordRow.source,
                    SourceRecordRow.record_key,
                    SourceRecordRow.case_pk,
                )
            )
        }
    from adapters.simulators.cities import systems

    labelled = []
    for spec, _person, truth in fleet.served():
        key = pseudonymiser.record_key(spec.city, spec.name, systems.record_id(spec, truth))
        case_pk = case_of_record.get((spec.city, spec.name, key))
        if case_pk is not None and case_pk in pid_of_case:
            labelled.append((pid_of_case[case_pk], truth.person_id))
    return labelled


def _results_table(results: list[RunResult]) -> Table:
    table = Table("source", "status", title="Sync", title_justify="left")
    for name in ("read", "accepted", "duplicate", "rejected", "quarantined"):
        table.add_column(name, justify="right")
    for r in results:
        rep = r.report
        table.add_row(
            f"{r.city}/{r.source}",
            r.status if r.ok else f"[red]{r.status}[/]",
            *(f"{n:,}" for n in (rep.read, rep.accepted, rep.duplicate, rep.rejected)),
            f"{rep.quarantined:,}",
        )
    return table


@app.command("demo")
def demo_command(
    people: int = typer.Option(1500, "--people", min=100, max=1_000_000, help="Simulated people."),
    seed: int = typer.Option(7, "--seed", help="Seed of the synthetic population."),
    database: Path = typer.Option(
        Path("var/demo.db"), "--database", help="SQLite file to create (replaced if present)."
    ),
) -> None:
    """All simulated cities end to end on the embedded database, then the KPI table."""
    # Imported here: the simulated servers (zeep, lxml) cost other commands ~10 MB.
    from adapters.simulators.fleet import Fleet

    started = time.perf_counter()
    console = Console()
    url, engine = _fresh_database(database)
    settings = load_settings(database_url=url)
    try:
        with tempfile.TemporaryDirectory(prefix="lgnet-demo-") as drops:
            with console.status(f"generating {people:,} people and starting the 18 cities"):
                fleet = Fleet(seed=seed, people=people, drop_dir=drops).start()
            try:
                cities = len({spec.city for spec in fleet.specs})
                console.print(
                    f"{len(fleet.sources)} simulated sources of {cities} cities listening on"
                    f" loopback; syncing into {database}"
                )
                with _environment(fleet.env):
                    results = _sync(engine, settings, fleet, console)
                with console.status("checking linkage against the ground truth"):
                    quality = linkage_quality(_label(engine, settings, fleet))
            finally:
                fleet.stop()
        with console.status("computing the summaries"):
            refresh(engine)
            summary = summarise(engine, SummaryRequest.parse())
    finally:
        engine.dispose()

    console.print(_results_table(results))
    for table in kpi_tables(summary):
        console.print(table)
    console.print(progress_table(summary))
    console.print(
        f"Linkage against the ground truth: {quality.records:,} records of {quality.people:,} "
        f"people became {quality.pids:,} pids; pairwise precision {quality.precision:.4f}, "
        f"recall {quality.recall:.4f} ({quality.correct_pairs:,} of {quality.true_pairs:,} "
        f"true pairs found, {quality.found_pairs - quality.correct_pairs:,} false)."
    )
    failed = [r for r in results if not r.ok]
    console.print(
        f"Done in {time.perf_counter() - started:.1f} s. Serve the result with\n"
        f"  LGNET_DATABASE_URL={url} lgnet serve\n"
        "and the national platform reads it at http://127.0.0.1:8000/v1/cases and "
        "http://127.0.0.1:8000/v1/summaries (OAuth2: see docs/api-guide.md)."
    )
    if failed:
        raise typer.Exit(1)
