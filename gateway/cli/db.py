"""``lgnet db``: database migrations."""

from __future__ import annotations

import typer

from gateway.settings import get_settings
from gateway.storage import current_revision, head_revision, make_engine, upgrade
from gateway.storage.urls import masked_url

app = typer.Typer(help="Database migrations.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_command(
    revision: str = typer.Argument("head", help="Target revision."),
) -> None:
    """Apply migrations to LGNET_DATABASE_URL (SQLite by default, at var/lgnet.db)."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    before = current_revision(engine)
    upgrade(engine, revision)
    after = current_revision(engine)
    typer.echo(f"{masked_url(settings.database_url)}: {before or 'empty'} -> {after}")


@app.command("current")
def current_command() -> None:
    """Print the database's revision and the newest one."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    current = current_revision(engine)
    head = head_revision()
    state = "up to date" if current == head else "needs `lgnet db upgrade`"
    typer.echo(f"{masked_url(settings.database_url)}: {current or 'empty'} (head {head}, {state})")
