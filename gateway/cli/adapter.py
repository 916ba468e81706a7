"""``lgnet adapter``: list the adapter kinds, scaffold a city's new source.

``new`` writes a source definition, a golden sample with its expected output and a test that
runs the adapter conformance kit against a loopback simulator (see :mod:`gateway.scaffold`).
Exit codes: 0 done, 2 the command could not run (a bad name, files already there).
"""

from __future__ import annotations

from enum import StrEnum
from importlib.metadata import entry_points
from pathlib import Path

import typer

import adapters
from adapters.registry import ENTRY_POINT_GROUP
from gateway import scaffold

app = typer.Typer(
    help="Adapters: list the kinds, scaffold a city's new source.", no_args_is_help=True
)


class ScaffoldKind(StrEnum):
    """The kinds ``new`` can write (``gateway.scaffold.KINDS``)."""

    csv = "csv"
    rest = "rest"
    soap = "soap"
    fhir = "fhir"


class System(StrEnum):
    """The ``system`` of a source (``gateway.scaffold.SYSTEMS``)."""

    welfare = "welfare"
    health = "health"
    registry = "registry"
    housing = "housing"


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@app.command("new")
def new_command(
    city: str = typer.Argument(
        ..., metavar="CITY", help="The city's slug in specs/cities.yaml, e.g. roma."
    ),
    source: str = typer.Argument(
        ...,
        metavar="SOURCE",
        help="The source's name: a slug such as welfare-rest (the definition's file name).",
    ),
    kind: ScaffoldKind = typer.Option(..., "--kind", "-k", help="What the source system speaks."),
    system: System | None = typer.Option(
        None, "--system", help="Kind of system (default: health for fhir, else welfare)."
    ),
    root: Path | None = typer.Option(
        None,
        "--root",
        file_okay=False,
        help="Project root to write into (default: the nearest folder, from here upwards, "
        "holding pyproject.toml and mappings/).",
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite files that exist."),
) -> None:
    """Write a source definition, golden files and a passing conformance test."""
    try:
        base = root if root is not None else scaffold.find_project_root(Path.cwd())
        made = scaffold.new_source(
            city,
            source,
            str(kind.value),
            root=base,
            system=str(system.value) if system is not None else None,
            force=force,
        )
    except scaffold.ScaffoldError as exc:
        raise _fail(str(exc)) from None
    for path in made.files:
        typer.echo(f"wrote {_shown(path, made.root)}")
    typer.echo("\nThe source reads these environment variables:")
    for name in made.env_vars:
        typer.echo(f"  {name}")
    typer.echo("Next, from the project root:")
    typer.echo(f"  lgnet mapping check {_shown(made.definition, made.root)}")
    typer.echo(f"  pytest {_shown(made.test, made.root)}")


@app.command("kinds")
def kinds_command() -> None:
    """List the adapter kinds: built in, or registered by other packages (lgnet.adapters)."""
    plugged = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    scaffolded = {t.adapter_kind: t.kind for t in scaffold.KINDS.values()}
    rows: list[tuple[str, str, str]] = []
    for kind in adapters.kinds():
        target = plugged.get(kind)
        loaded: str | None
        try:
            cls = adapters.get(kind)
            where = f"{cls.__module__}.{cls.__qualname__}"
            loaded = f"{cls.__module__}:{cls.__qualname__}"
        except Exception as exc:  # a broken plugin must not hide the other kinds
            where, loaded = f"cannot be loaded ({type(exc).__name__})", target
        if target is None:
            origin = "built in"
        elif loaded == target:
            origin = f"entry point {target}"
        else:  # a built-in kind of the same name wins
            origin = f"built in (entry point {target} ignored)"
        if kind in scaffolded:
            origin += f"; lgnet adapter new ... --kind {scaffolded[kind]}"
        rows.append((kind, where, origin))
    width = max(len(kind) for kind, _, _ in rows)
    middle = max(len(where) for _, where, _ in rows)
    for kind, where, origin in rows:
        typer.echo(f"{kind.ljust(width)}  {where.ljust(middle)}  {origin}")


def _shown(path: Path, root: Path) -> str:
    """``path`` as typed from the current folder when it is the root, else in full."""
    try:
        if Path.cwd().resolve() == root:
            return path.relative_to(root).as_posix()
    except OSError:
        pass
    return str(path)
