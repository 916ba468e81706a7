"""``lgnet schema``: the common case schema's JSON Schemas."""

from __future__ import annotations

from pathlib import Path

import typer

from gateway.schema.export import export, stale

app = typer.Typer(help="Common case schema (JSON Schema export).", no_args_is_help=True)


@app.command("export")
def export_command(
    folder: Path | None = typer.Option(None, help="Target folder (default: specs/schemas)."),
    check: bool = typer.Option(False, "--check", help="Only report stale files; exit 1 if any."),
) -> None:
    """Write the intake-record and case JSON Schemas to specs/schemas/."""
    if check:
        outdated = stale(folder)
        for name in outdated:
            typer.echo(f"stale: {name}")
        raise typer.Exit(1 if outdated else 0)
    for path in export(folder):
        typer.echo(f"wrote {path}")
