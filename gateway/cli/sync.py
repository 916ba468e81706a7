"""``lgnet sync [CITY [SOURCE]]`` and ``lgnet ingest CITY SOURCE FILE``: sync engine commands.

``sync`` pulls sources now, from their stored cursors, with a progress bar per source.
``ingest`` reads one file through a source's mapping (a CSV export handed over by hand); it
leaves the source's cursor alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine

from gateway.settings import Settings, get_settings
from gateway.storage import is_up_to_date, make_engine, upgrade
from gateway.sync import sources
from gateway.sync.pipeline import IngestReport, ingest
from gateway.sync.runner import RunResult, sync_source
from mappings.errors import MappingError

app = typer.Typer()
console = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


@contextmanager
def open_database(settings: Settings) -> Iterator[Engine]:
    """The engine; the embedded SQLite database is migrated on first use (as ``serve`` does)."""
    engine = make_engine(settings.database_url)
    try:
        if not is_up_to_date(engine):
            if not settings.is_sqlite:
                raise _fail("the database is not migrated: run `lgnet db upgrade`")
            upgrade(engine)
        yield engine
    finally:
        engine.dispose()


def _counts(report: IngestReport) -> str:
    return (
        f"{report.read:,} read · {report.accepted:,} accepted · {report.duplicate:,} duplicate"
        f" · {report.rejected:,} rejected"
    )


@app.command("sync")
def sync_command(
    city: str | None = typer.Argument(None, help="Only this city's sources."),
    source: str | None = typer.Argument(None, help="Only this source of the city."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Pull sources now, each from its stored cursor (all sources, a city's, or one)."""
    settings = get_settings()
    try:
        if city and source:
            selected = [sources.find(settings, city, source)]
        else:
            selected = sources.discover(settings, city=city)
    except (sources.UnknownSource, MappingError) as exc:
        raise _fail(str(exc)) from None
    if not selected:
        raise _fail(f"no source definitions found under {sources.root_of(settings)}")
    results: list[RunResult] = []
    with (
        open_database(settings) as engine,
        Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.fields[key]}"),
            TextColumn("{task.fields[counts]}"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            console=console,
            disable=quiet,
            transient=False,
        ) as bar,
    ):
        tasks: dict[str, TaskID] = {}
        for item in selected:
            tasks[item.key] = bar.add_task("", total=None, key=item.key, counts="", rate="")

        def progress(item: sources.Source, report: IngestReport) -> None:
            task = bar.tasks[tasks[item.key]]
            elapsed = task.elapsed or 0.0
            rate = f"{report.read / elapsed:,.0f} rec/s" if elapsed > 0 else ""
            bar.update(tasks[item.key], counts=_counts(report), rate=rate)

        for item in selected:
            result = sync_source(engine, settings, item, progress=progress)
            done = result.status if result.ok else f"[red]{result.status}"
            bar.update(tasks[item.key], counts=f"{_counts(result.report)} · {done}")
            bar.stop_task(tasks[item.key])
            results.append(result)
    table = Table("source", "status", "read", "accepted", "duplicate", "rejected", "note")
    for result in results:
        r = result.report
        table.add_row(
            f"{result.city}/{result.source}",
            result.status,
            f"{r.read:,}",
            f"{r.accepted:,}",
            f"{r.duplicate:,}",
            f"{r.rejected:,}",
            result.error or "",
        )
    Console().print(table)
    if any(result.status in ("failed", "circuit_open") for result in results):
        raise typer.Exit(1)


@app.command("ingest")
def ingest_command(
    city: str = typer.Argument(..., help="City slug."),
    source: str = typer.Argument(..., help="Source whose mapping reads the file."),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The file to ingest."),
    show: int = typer.Option(20, "--show", help="Rejected records to list."),
) -> None:
    """Ingest one CSV file through a source's mapping (the source's cursor is not moved)."""
    settings = get_settings()
    try:
        definition = sources.find(settings, city, source)
    except (sources.UnknownSource, MappingError) as exc:
        raise _fail(str(exc)) from None
    if definition.kind != "csv":
        raise _fail(f"{city}/{source} is a {definition.kind!r} source; ingest reads CSV files")
    with (
        open_database(settings) as engine,
        Progress(
            SpinnerColumn(),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            console=console,
        ) as bar,
    ):
        task = bar.add_task("", total=None, counts="")
        with definition.adapter(path=str(file.resolve())) as adapter:
            report = ingest(
                engine,
                city=city,
                source=source,
                records=adapter.fetch(None),
                mapper=definition.mapper,
                settings=settings,
                system=definition.system,
                batch_size=settings.sync_batch_size,
                progress=lambda r: bar.update(task, counts=_counts(r)),
            )
    typer.echo(f"{file.name}: {_counts(report)} · {report.quarantined:,} quarantined")
    rejected = [r for r in report.results if r.outcome == "rejected"]
    for result in rejected[:show]:
        where = result.position or f"record {result.index + 1}"
        typer.echo(f"  {where}: {result.field or '-'}: {result.rule} ({result.reason})")
    if len(rejected) > show:
        typer.echo(f"  … and {len(rejected) - show:,} more: `lgnet quarantine list`")
