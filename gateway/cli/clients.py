"""``lgnet clients``: register OAuth2 clients and list them. Secrets are shown once."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import update

from gateway.auth.clients import ClientRegistrationError, list_clients, register_client
from gateway.auth.jwks import KeySetError
from gateway.settings import get_settings
from gateway.storage import make_engine
from gateway.storage.tables import OAuthClientRow

app = typer.Typer(help="OAuth2 clients of the gateway.", no_args_is_help=True)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@app.command("add")
def add_command(
    name: str = typer.Option(..., "--name", help="Who the client is, e.g. 'Roma welfare'."),
    scope: str = typer.Option(
        ..., "--scope", help="Space- or comma-separated: records:write cases:read ..."
    ),
    city: str | None = typer.Option(None, "--city", help="The city the client is bound to."),
    jwks: Path | None = typer.Option(
        None, "--jwks", help="Public JWKS file: the client uses private_key_jwt, no secret."
    ),
) -> None:
    """Register a client; print its id and (for secret clients) the secret, once."""
    scopes = [part for part in scope.replace(",", " ").split() if part]
    document = None
    if jwks is not None:
        try:
            document = json.loads(jwks.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise _fail("--jwks: not a readable JSON file") from None
    engine = make_engine(get_settings().database_url)
    try:
        client = register_client(engine, name=name, scopes=scopes, city=city, jwks=document)
    except (ClientRegistrationError, KeySetError) as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"client_id: {client.client_id}")
    if client.secret is not None:
        typer.echo(f"client_secret: {client.secret}")
        typer.echo(
            "store the secret now: it is kept only as a hash and never shown again", err=True
        )
    else:
        typer.echo("authentication: private_key_jwt with the registered keys")


@app.command("list")
def list_command() -> None:
    """List clients: id, name, scopes, city, authentication (never a secret)."""
    engine = make_engine(get_settings().database_url)
    with engine.connect() as connection:
        clients = list_clients(connection)
    table = Table("client_id", "name", "scopes", "city", "auth", "state")
    for client in clients:
        table.add_row(
            client.client_id,
            client.name,
            " ".join(sorted(client.scopes)),
            client.city or "-",
            "private_key_jwt" if client.jwks else "client_secret",
            "disabled" if client.disabled else "active",
        )
    Console(width=160).print(table)


@app.command("disable")
def disable_command(client_id: str = typer.Argument(..., help="The client to disable.")) -> None:
    """Refuse the client new tokens (tokens already issued expire on their own)."""
    engine = make_engine(get_settings().database_url)
    with engine.begin() as connection:
        changed = connection.execute(
            update(OAuthClientRow)
            .where(OAuthClientRow.client_id == client_id)
            .values(disabled=True)
        ).rowcount
    if not changed:
        raise _fail("no such client")
    typer.echo(f"disabled {client_id}")
