"""``lgnet simulate [CITY]``: run the simulated systems of every (or one) LGNet city.

Starts each city's SOAP, REST, FHIR and registry-check servers on this machine and writes its
CSV drops (:class:`adapters.simulators.fleet.Fleet`), prints where each listens and the
environment variables its source definition in ``mappings/<city>/`` reads, then serves until
Ctrl-C. In another shell, export those variables and run ``lgnet sync``::

    lgnet simulate --people 2000 --env-file sim.env     # keeps running
    set -a; . ./sim.env; set +a; lgnet sync             # in a second shell

The people are synthetic (deterministic from ``--seed``); the printed credentials are the
simulators' own, derived from ``--secret`` (random unless given).
"""

from __future__ import annotations

import shlex
import signal
import threading
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

app = typer.Typer()


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _exports(env: dict[str, str]) -> str:
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in sorted(env.items()))


def _serve_until_stopped(stop: threading.Event, timeout: float | None) -> None:
    """Wait for Ctrl-C, SIGTERM (``docker stop``) or ``timeout`` seconds."""
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set()) if main else None
    try:
        stop.wait(timeout)
    except KeyboardInterrupt:
        pass
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)


@app.command("simulate")
def simulate_command(
    city: str | None = typer.Argument(
        None, help="Only this city's systems, all the people in it (default: all 18 cities)."
    ),
    people: int = typer.Option(
        1000, "--people", "-n", min=0, max=1_000_000, help="Synthetic people (100 to 1,000,000)."
    ),
    seed: int = typer.Option(7, "--seed", help="Seed of the population: same seed, same people."),
    drop_dir: Path | None = typer.Option(
        None, "--drop-dir", help="Folder for CSV drops and code files (default: a temporary one)."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address the servers listen on."),
    public_host: str | None = typer.Option(
        None,
        "--public-host",
        help="Host name the gateway reaches them by, in every URL (e.g. a container's name).",
    ),
    base_port: int | None = typer.Option(
        None, "--base-port", min=1, max=65000, help="Consecutive ports from here (default: free)."
    ),
    secret: str | None = typer.Option(
        None, "--secret", envvar="LGNET_SIMULATE_SECRET", help="Derive credentials from this."
    ),
    env_file: Path | None = typer.Option(
        None, "--env-file", help="Also write the variables there (shell syntax, for `. file`)."
    ),
    samples: Path | None = typer.Option(
        None,
        "--samples",
        help="Write each source's records as sample files there, for "
        "`lgnet mapping explain|coverage`.",
    ),
    exit_after: float | None = typer.Option(None, "--exit-after", hidden=True),
) -> None:
    """Run the cities' simulated systems and print where they listen; Ctrl-C stops them."""
    # Imported here: the simulated servers (zeep, lxml) cost other commands ~10 MB.
    from adapters.simulators.cities import catalogue
    from adapters.simulators.fleet import Fleet
    from adapters.simulators.population import Population

    if city is not None and city not in catalogue.cities():
        raise _fail(f"unknown city {city!r}; known: {', '.join(catalogue.cities())}")
    err = Console(stderr=True)
    with Progress(
        TextColumn("generating people"), BarColumn(), MofNCompleteColumn(), console=err
    ) as bar:
        task = bar.add_task("people", total=people)
        fleet = Fleet(
            seed=seed,
            people=people,
            # One city's systems get all the people: a national population would leave a
            # small city a handful of records.
            population=Population(seed, people, cities=(city,)) if city else None,
            cities=[city] if city else None,
            drop_dir=drop_dir,
            secret=secret,
            host=host,
            public_host=public_host,
            base_port=base_port,
            progress=lambda done: bar.update(task, completed=done),
        )
        try:
            fleet.start()
        except OSError as exc:
            raise _fail(f"cannot start the simulators: {exc.strerror or exc}") from None
        bar.update(task, completed=people)
    stop = threading.Event()
    try:
        table = Table(title=f"LGNet simulated systems ({people:,} people, seed {seed})")
        for column in ("city", "source", "kind", "system", "records"):
            table.add_column(column, justify="right" if column == "records" else "left")
        table.add_column("listens at / drops in", overflow="fold")
        for running in fleet.sources.values():
            spec = running.spec
            table.add_row(
                spec.city,
                spec.name,
                spec.kind,
                spec.system,
                f"{running.records:,}",
                running.location,
            )
        Console(soft_wrap=True).print(table)
        typer.echo("\n# The variables the source definitions in mappings/ read:")
        typer.echo(_exports(fleet.env), nl=False)
        if env_file is not None:
            env_file.write_text(_exports(fleet.env), encoding="utf-8")
            env_file.chmod(0o600)
            err.print(f"variables written to {env_file}")
        if samples is not None:
            written = fleet.write_samples(samples)
            err.print(f"{len(written)} sample files written under {samples}")
        err.print("serving; Ctrl-C to stop")
        _serve_until_stopped(stop, exit_after)
    finally:
        fleet.stop()
    err.print("simulators stopped")
