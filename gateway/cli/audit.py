"""``lgnet audit``: check the audit trail's hash chain."""

from __future__ import annotations

import typer

from gateway import audit
from gateway.settings import get_settings
from gateway.storage import make_engine

app = typer.Typer(help="The audit trail of case-data access.", no_args_is_help=True)


@app.command("verify")
def verify_command() -> None:
    """Recompute the hash chain; exit 1 if any entry was edited, deleted or reordered."""
    engine = make_engine(get_settings().database_url)
    with engine.connect() as connection:
        report = audit.verify(connection)
    if report.ok:
        typer.echo(f"audit trail intact: {report.entries} entries")
        return
    for seq, problem in report.problems:
        typer.echo(f"entry {seq}: {problem}", err=True)
    typer.echo(
        f"audit trail TAMPERED: {len(report.problems)} problem(s) in {report.entries} entries",
        err=True,
    )
    raise typer.Exit(1)
