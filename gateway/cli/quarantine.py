"""``lgnet quarantine list|replay|purge``: records that failed reading, mapping or validation.

Only causes are shown — stage, field path, rule, counts — never a payload: payloads are
encrypted and only the pipeline decrypts them, to replay them.
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from gateway.cli.sync import open_database
from gateway.settings import get_settings
from gateway.sync.quarantine import purge, summary
from gateway.sync.replay import replay

app = typer.Typer(
    help="Quarantined records: list causes, replay after a fix.", no_args_is_help=True
)


@app.command("list")
def list_command(
    city: str | None = typer.Option(None, "--city", help="Only this city."),
    source: str | None = typer.Option(None, "--source", help="Only this source."),
) -> None:
    """Waiting records grouped by cause, largest groups first."""
    settings = get_settings()
    with open_database(settings) as engine:
        groups = summary(engine, city=city, source=source)
    if not groups:
        typer.echo("quarantine is empty")
        return
    table = Table("city", "source", "stage", "field", "rule", "records", "oldest")
    for group in groups:
        table.add_row(
            group.city,
            group.source,
            group.stage,
            group.field or "-",
            group.rule or "-",
            f"{group.count:,}",
            group.oldest.strftime("%Y-%m-%d %H:%M"),
        )
    Console().print(table)
    typer.echo(f"{sum(g.count for g in groups):,} records waiting")


@app.command("replay")
def replay_command(
    city: str | None = typer.Option(None, "--city", help="Only this city."),
    source: str | None = typer.Option(None, "--source", help="Only this source."),
) -> None:
    """Run waiting records through their source's current mapping again."""
    settings = get_settings()
    with open_database(settings) as engine:
        report = replay(engine, settings, city=city, source=source)
    typer.echo(
        f"{report.selected:,} selected · {report.replayed:,} replayed · "
        f"{report.rejected:,} still rejected · {report.unreadable:,} unreadable · "
        f"{report.no_definition:,} without a source definition"
    )


@app.command("purge")
def purge_command() -> None:
    """Delete records older than LGNET_QUARANTINE_RETENTION_DAYS."""
    settings = get_settings()
    with open_database(settings) as engine:
        removed = purge(engine, settings)
    typer.echo(f"{removed:,} records purged (older than {settings.quarantine_retention_days} days)")
