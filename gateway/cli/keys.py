"""``lgnet keys``: key files, key versions of the pseudonym domains, rotation.

No command ever prints key material: ``generate`` and ``add-version`` write it to the file
(mode 0600) and print only version numbers.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from gateway.privacy import rotation
from gateway.privacy.keys import Keyring, KeyringError, add_key_version, generate_key_file
from gateway.privacy.pseudonyms import Pseudonymiser
from gateway.settings import get_settings
from gateway.storage import make_engine

app = typer.Typer(help="Pseudonym keys: key files, status, rotation.", no_args_is_help=True)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


@app.command("generate")
def generate_command(
    out: Path = typer.Option(..., "--out", help="Key file to create (mode 0600)."),
) -> None:
    """Create a new key file holding one random key (version 1)."""
    try:
        generate_key_file(out)
    except KeyringError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"wrote {out} (key version 1); set LGNET_PSEUDONYM_KEY_FILE={out}")


@app.command("add-version")
def add_version_command(
    file: Path = typer.Option(..., "--file", help="Key file to extend."),
    make_current: bool = typer.Option(
        True, "--current/--not-current", help="Make the new version the current one."
    ),
) -> None:
    """Add a fresh key version to a key file (old versions are kept)."""
    try:
        version = add_key_version(file, make_current=make_current)
    except (KeyringError, OSError) as exc:
        raise _fail(str(exc)) from None
    state = "current" if make_current else "not current"
    typer.echo(f"added key version {version} to {file} ({state}); now run `lgnet keys rotate`")


@app.command("status")
def status_command() -> None:
    """Key versions in the key file and, per pseudonym domain, the version in use."""
    settings = get_settings()
    keyring = Keyring.from_settings(settings)
    console = Console()
    console.print(
        f"keyring: versions {keyring.versions}, current {keyring.current}, "
        f"inner {keyring.inner_version}"
    )
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            domains = rotation.status(conn)
    finally:
        engine.dispose()
    table = Table("domain", "current version", "rotated at", "pseudonyms", "by version")
    for d in domains:
        by_version = ", ".join(f"v{v}: {n}" for v, n in d.by_version.items())
        rotated = d.rotated_at.isoformat(timespec="seconds") if d.rotated_at else "never"
        table.add_row(d.domain, str(d.current_version), rotated, str(d.pseudonyms), by_version)
    console.print(table)
    behind = [d.domain for d in domains if d.current_version < keyring.current]
    if behind:
        console.print(f"behind the current key version: {', '.join(behind)}")


@app.command("rotate")
def rotate_command(
    domain: str = typer.Option(..., "--domain", help="national, city:<slug>, or all."),
    to_version: int | None = typer.Option(
        None, "--to-version", help="Target key version (default: the key file's current)."
    ),
    batch_size: int = typer.Option(rotation.BATCH, "--batch-size", min=100),
    sqlite_cache_mib: int = typer.Option(
        rotation.SQLITE_CACHE_MIB, "--sqlite-cache-mib", min=2, help="SQLite page cache (MiB)."
    ),
) -> None:
    """Move every pseudonym of a domain to a new key version, atomically.

    Each domain is rotated in one transaction: a failure leaves it at its old version.
    For the national domain every case gets its new pid and is sent again in the feed.
    """
    settings = get_settings()
    pseudonymiser = Pseudonymiser.from_settings(settings)
    engine = make_engine(settings.database_url)
    try:
        if domain == "all":
            target_version = to_version or pseudonymiser.current_version
            with engine.connect() as conn:
                targets = [
                    d.domain for d in rotation.status(conn) if d.current_version < target_version
                ]
            targets.sort(key=lambda d: (d != "national", d))
        else:
            targets = [domain]
        if not targets:
            typer.echo("every domain is already at the target key version")
            return
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        ) as bar:
            for name in targets:
                task = bar.add_task(f"rotating {name}", total=None)

                def report(done: int, total: int, task: TaskID = task) -> None:
                    bar.update(task, completed=done, total=total)

                try:
                    result = rotation.rotate(
                        engine,
                        pseudonymiser,
                        name,
                        to_version=to_version,
                        batch_size=batch_size,
                        progress=report,
                        sqlite_cache_mib=sqlite_cache_mib,
                    )
                except (rotation.RotationError, ValueError) as exc:
                    raise _fail(f"{name}: {exc}") from None
                typer.echo(
                    f"{result.domain}: v{result.from_version} -> v{result.to_version}, "
                    f"{result.pseudonyms} pseudonyms, {result.cases} cases re-sent, "
                    f"{result.seconds:.1f} s"
                )
    finally:
        engine.dispose()
