"""``lgnet signing-keys``: the keys the token endpoint signs with; rotation with overlap."""

from __future__ import annotations

import typer

from gateway.auth.jwks import DatabaseSigningKeys, signing_key_store
from gateway.settings import ENV_PREFIX, get_settings
from gateway.storage import make_engine

app = typer.Typer(help="Token signing keys (OAuth2).", no_args_is_help=True)


def _store() -> DatabaseSigningKeys:
    settings = get_settings()
    store = signing_key_store(make_engine(settings.database_url), settings)
    if not isinstance(store, DatabaseSigningKeys):
        typer.echo(
            f"error: keys come from {ENV_PREFIX}SIGNING_KEY_FILE: rotate them in that file",
            err=True,
        )
        raise typer.Exit(2)
    return store


@app.command("rotate")
def rotate_command() -> None:
    """Sign with a new key from now on; the old one stays published until its tokens expire."""
    kid = _store().rotate()
    typer.echo(f"new signing key: {kid}")


@app.command("list")
def list_command() -> None:
    """The published keys; the first active one signs."""
    store = _store()
    active = store.active().kid
    for jwk in store.published():
        mark = "signing" if jwk["kid"] == active else "published (retired)"
        typer.echo(f"{jwk['kid']}  {mark}")
