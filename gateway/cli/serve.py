"""``lgnet serve``: run the HTTP API with uvicorn (and the sync scheduler, when on)."""

from __future__ import annotations

import os

import typer

from gateway.logs import configure_logging
from gateway.settings import ENV_PREFIX, get_settings
from gateway.storage import make_engine, upgrade

app = typer.Typer()


@app.command("serve")
def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes."),
    migrate: bool | None = typer.Option(
        None,
        "--migrate/--no-migrate",
        help="Apply migrations first (default: yes on the embedded SQLite database).",
    ),
) -> None:
    """Serve the API, and pull the sources on their schedules (LGNET_SCHEDULER=off: don't)."""
    import uvicorn

    # Worker processes read their settings from the environment: set the default there.
    os.environ.setdefault(f"{ENV_PREFIX}SCHEDULER", "on")
    get_settings.cache_clear()
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    if migrate if migrate is not None else settings.is_sqlite:
        engine = make_engine(settings.database_url)
        upgrade(engine)
        engine.dispose()
    uvicorn.run(
        "gateway.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        server_header=False,
    )
