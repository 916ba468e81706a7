"""``lgnet mapping``: check source definitions, explain a record, report code coverage.

``explain`` prints values from the sample file: it is for the mapping's author on their own
machine, never for logs. ``check`` and ``coverage`` print file positions, rules and local codes.
Exit codes: 0 fine, 1 problems found (or, for ``explain``, the record does not map; for
``coverage --fail-on-unmapped``, codes unmapped), 2 the command could not run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

import mappings
from mappings.check import checked_files
from mappings.definition import SourceDefinition

app = typer.Typer(
    help="Source definitions: check them, explain a record field by field, report coverage.",
    no_args_is_help=True,
)

SOURCE_HELP = "The source: CITY/SOURCE (e.g. roma/welfare-soap) or a definition file."
FILE_HELP = "A sample input: CSV, JSON or NDJSON records, an XML answer, a FHIR Bundle."


def _console() -> Console:
    return Console(soft_wrap=True, highlight=False)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _load(source: str) -> SourceDefinition:
    try:
        return mappings.load_source(mappings.find_source(source), resolve_env=False)
    except FileNotFoundError as exc:
        raise _fail(str(exc)) from None
    except mappings.MappingError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise _fail("the source definition has problems; run 'lgnet mapping check'") from None


def _samples(definition: SourceDefinition, file: Path) -> list[mappings.Sample]:
    try:
        return mappings.read_samples(file, definition)
    except (OSError, mappings.SampleError) as exc:
        raise _fail(str(exc)) from None


def _show(value: Any) -> str:
    if value is None:
        return "∅"
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


@app.command("check")
def check_command(
    path: Path | None = typer.Argument(
        None, help="A definition file or a folder (default: every city's folder in mappings/)."
    ),
) -> None:
    """Check definitions: syntax, targets, code-map codes, types; exit 1 on any problem."""
    problems = mappings.check(path)
    files = checked_files(path)
    for problem in problems:
        typer.echo(str(problem))
    if problems:
        typer.echo(f"{len(problems)} problem(s) in {len({p.file for p in problems})} file(s)")
        raise typer.Exit(1)
    typer.echo(f"{len(files)} source definition(s) OK")


@app.command("explain")
def explain_command(
    source: str = typer.Argument(..., help=SOURCE_HELP),
    file: Path = typer.Argument(..., help=FILE_HELP, exists=True, dir_okay=False),
    record: int = typer.Option(1, "--record", "-r", min=1, help="Which record (1 = first)."),
) -> None:
    """Show how one record maps, field by field: source value -> rule -> result."""
    definition = _load(source)
    samples = _samples(definition, file)
    if record > len(samples):
        raise _fail(f"the sample has {len(samples)} record(s), not {record}")
    sample = samples[record - 1]
    if sample.problem is not None:
        raise _fail(f"{sample.position} could not be read: {sample.problem}")
    console = _console()
    console.print(f"[bold]{definition.city}/{definition.source}[/bold], {sample.position}")
    previous = None
    for row in mappings.explain(definition, samples, record - 1):
        if row.target != previous:
            # The first row of a field is the read of its source.
            previous = row.target
            console.print(
                f"\n[bold]{row.target}[/bold]  <- {escape(row.rule)}: "
                f"{escape(_show(row.result if not row.error else row.source_value))}"
            )
            if row.error:
                console.print(f"    [red]✗ {escape(row.error)}[/red]")
            continue
        outcome = f"[red]✗ {escape(row.error)}[/red]" if row.error else escape(_show(row.result))
        console.print(f"    {escape(row.rule)}: {escape(_show(row.source_value))} -> {outcome}")
    console.print()
    output, errors = mappings.explain_result(definition, sample)
    console.print("[bold]intake record[/bold]")
    console.print_json(json.dumps(output, ensure_ascii=False, default=str))
    if errors:
        for error in errors:
            console.print(f"[red]record error:[/red] {error}")
        raise typer.Exit(1)


@app.command("coverage")
def coverage_command(
    source: str = typer.Argument(..., help=SOURCE_HELP),
    file: Path = typer.Argument(..., help=FILE_HELP, exists=True, dir_okay=False),
    fail_on_unmapped: bool = typer.Option(
        False, "--fail-on-unmapped", help="Exit 1 when some local code is not mapped."
    ),
) -> None:
    """Count the local codes of a sample that no code map covers (drift made visible)."""
    definition = _load(source)
    samples = _samples(definition, file)
    report = mappings.coverage(definition, samples)
    console = _console()
    unmapped = 0
    for name, counts in report.items():
        spec = definition.nodes.code_maps[name]
        if not counts:
            console.print(f"code map [bold]{name}[/bold] ({spec.codelist}): every code mapped")
            continue
        table = Table(title=f"code map {name} ({spec.codelist}): unmapped local codes")
        table.add_column("local code")
        table.add_column("records", justify="right")
        table.add_column("becomes")
        fate = repr(spec.default) if "default" in spec.model_fields_set else "record error"
        for code, count in counts.most_common():
            table.add_row(code, str(count), fate)
            unmapped += 1
        console.print(table)
    console.print(f"{len(samples)} record(s) read, {unmapped} unmapped local code(s)")
    if unmapped and fail_on_unmapped:
        raise typer.Exit(1)
