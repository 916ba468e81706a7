"""The ``lgnet`` command line (BRIEF §11). Each command group lives in its own module."""

from __future__ import annotations

from importlib import import_module

import typer

from gateway.settings import SettingsError

app = typer.Typer(
    name="lgnet",
    help="LGNet gateway: pseudonymised case exchange between the cities and the national platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# (module, group name or None for top-level commands). Only modules whose commands work.
_GROUPS: list[tuple[str, str | None]] = [
    ("gateway.cli.demo", None),
    ("gateway.cli.db", "db"),
    ("gateway.cli.schema", "schema"),
    ("gateway.cli.mapping", "mapping"),
    ("gateway.cli.adapter", "adapter"),
    ("gateway.cli.keys", "keys"),
    ("gateway.cli.serve", None),
    ("gateway.cli.clients", "clients"),
    ("gateway.cli.signing", "signing-keys"),
    ("gateway.cli.audit", "audit"),
    ("gateway.cli.openapi", "openapi"),
    ("gateway.cli.sync", None),
    ("gateway.cli.simulate", None),
    ("gateway.cli.quarantine", "quarantine"),
    ("gateway.cli.summaries", None),
]

for _module, _name in _GROUPS:
    _sub = import_module(_module)
    if _name is None:
        for _command in _sub.app.registered_commands:
            app.registered_commands.append(_command)
    else:
        app.add_typer(_sub.app, name=_name)


def main() -> None:
    """Console-script entry point: settings errors become one clear line and exit code 2."""
    try:
        app()
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
