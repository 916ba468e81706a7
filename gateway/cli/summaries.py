"""``lgnet summaries``: the programme KPIs, protected, with progress bars toward the targets.

The same figures as ``GET /v1/summaries`` (disclosure control included): a table of the KPIs
by area for each period, a table per breakdown for the first area asked for, and the
network's progress toward the targets of ``specs/targets.yaml``. ``--format json|csv`` prints
what the API would answer instead.
"""

from __future__ import annotations

import datetime as dt

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.progress_bar import ProgressBar
from rich.table import Table
from sqlalchemy import Engine

from gateway.settings import get_settings
from gateway.storage import is_up_to_date, make_engine, upgrade
from gateway.summaries.dimensions import TOTAL, breakdown
from gateway.summaries.kpis import KPIS
from gateway.summaries.preaggregate import RefreshConflictError, refresh
from gateway.summaries.render import to_csv, to_json
from gateway.summaries.report import (
    Summary,
    SummaryCell,
    SummaryRequest,
    SummaryRequestError,
    resolve_layout,
)
from gateway.summaries.report import summarise as build_summary
from gateway.summaries.targets import programme

app = typer.Typer()
LABELS = {kpi.name: kpi.label for kpi in KPIS}
SHORT = {kpi.name: kpi.short or kpi.label for kpi in KPIS}


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter("expected a date as YYYY-MM-DD", param_hint=option) from None


def _engine() -> Engine:
    settings = get_settings()
    engine = make_engine(settings.database_url)
    if not is_up_to_date(engine):
        if not settings.is_sqlite:
            typer.echo("error: the database is not migrated: run `lgnet db upgrade`", err=True)
            raise typer.Exit(1)
        upgrade(engine)
    return engine


def _refresh(engine: Engine, console: Console) -> None:
    with Progress(
        TextColumn("refreshing summaries"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("people"),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task("refresh", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        refresh(engine, progress=progress)


def _shown(cell: SummaryCell, k: int) -> str:
    if cell.suppressed == "primary":
        return f"[dim]<{k}[/]"
    if cell.suppressed == "secondary":
        return "[dim]x[/]"
    return f"{cell.value:,}"


def progress_table(summary: Summary) -> Table:
    window = programme()
    table = Table(
        "KPI",
        title=f"Progress toward the targets (programme {window.start} … {window.end}, network)",
        title_justify="left",
    )
    table.add_column("people", justify="right")
    table.add_column("target", justify="right")
    table.add_column("progress")
    table.add_column("", justify="right")
    for item in summary.progress:
        target = ("> " if item.comparison == "more_than" else "≈ ") + f"{item.target:,}"
        if item.value is None:
            shown = f"[dim]<{summary.k}[/]" if item.suppressed == "primary" else "[dim]x[/]"
            table.add_row(LABELS[item.kpi], shown, target, "", "")
            continue
        ratio = item.ratio or 0.0
        bar = ProgressBar(total=1.0, completed=min(ratio, 1.0), width=30)
        table.add_row(LABELS[item.kpi], f"{item.value:,}", target, bar, f"{ratio:.0%}")
    return table


def kpi_tables(summary: Summary) -> list[Table]:
    tables = []
    totals = {(c.period, c.kpi, c.area): c for c in summary.cells if c.dimension == TOTAL}
    for period in summary.periods:
        table = Table("area", title=f"Period {period.key}", title_justify="left")
        for kpi in summary.kpis:
            table.add_column(SHORT[kpi], justify="right")
        for area in summary.areas:
            table.add_row(
                area, *(_shown(totals[(period.key, k, area)], summary.k) for k in summary.kpis)
            )
        tables.append(table)
    return tables


def breakdown_tables(summary: Summary) -> list[Table]:
    area = summary.areas[0]
    found = {(c.period, c.kpi, c.dimension, c.category): c for c in summary.cells if c.area == area}
    tables = []
    for period in summary.periods:
        for dimension in summary.dimensions:
            spec = breakdown(dimension)
            table = Table(spec.label, title=f"{spec.label} — {area}, {period.key}")
            for kpi in summary.kpis:
                table.add_column(SHORT[kpi], justify="right")
            for category, label in zip(spec.categories, spec.labels, strict=True):
                table.add_row(
                    label,
                    *(
                        _shown(found[(period.key, k, dimension, category)], summary.k)
                        for k in summary.kpis
                    ),
                )
            tables.append(table)
    return tables


@app.command("summaries")
def summaries_command(
    start: str | None = typer.Option(None, "--from", help="First day (YYYY-MM-DD)."),
    end: str | None = typer.Option(None, "--to", help="Last day (YYYY-MM-DD)."),
    city: list[str] = typer.Option(
        [], "--city", help="City slug or 'national' (repeat, or comma-separate); default all."
    ),
    by: list[str] = typer.Option(
        [],
        "--by",
        help="month, quarter or year (default: the whole programme), and any of sex, "
        "age_band, citizenship_area, vulnerability.",
    ),
    output: str = typer.Option("table", "--format", help="table, json or csv."),
) -> None:
    """Programme KPIs by city and period, with disclosure control and progress to targets."""
    if output not in ("table", "json", "csv"):
        raise typer.BadParameter("expected table, json or csv", param_hint="--format")
    request = SummaryRequest.parse(
        start=_date(start, "--from"), end=_date(end, "--to"), city=city, by=by
    )
    try:
        resolve_layout(request)
    except SummaryRequestError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    console = Console()
    engine = _engine()
    try:
        _refresh(engine, Console(stderr=True))
        summary = build_summary(engine, request)
    except RefreshConflictError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    if output == "json":
        typer.echo(to_json(summary).decode())
        return
    if output == "csv":
        typer.echo(to_csv(summary), nl=False)
        return
    for table in [*kpi_tables(summary), *breakdown_tables(summary)]:
        console.print(table)
    console.print(progress_table(summary))
    withheld = summary.suppressed_primary + summary.suppressed_secondary
    console.print(
        f"[dim]<{summary.k}: fewer than {summary.k} people (withheld); x: withheld so that no "
        f"small count can be recomputed. {withheld} cells withheld; figures as of change "
        f"{summary.as_of_feed_seq}.[/]"
    )
