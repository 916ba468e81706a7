"""``lgnet openapi``: the API's OpenAPI document in ``specs/``."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="The OpenAPI document of the HTTP API.", no_args_is_help=True)


@app.command("export")
def export_command(
    out: Path | None = typer.Option(None, "--out", help="Where to write (default specs/)."),
    check: bool = typer.Option(False, "--check", help="Only check the file is up to date."),
) -> None:
    """Write specs/openapi.json (or check that it is current)."""
    # Imported here: the API (FastAPI, FHIR models) costs every other command ~30 MB.
    from gateway.api.openapi import export, is_fresh, openapi_path

    target = out or openapi_path()
    if check:
        if not is_fresh(target):
            typer.echo(f"{target} is out of date: run `lgnet openapi export`", err=True)
            raise typer.Exit(1)
        typer.echo(f"{target} is up to date")
        return
    typer.echo(f"wrote {export(target)}")
