"""Watermarks: each source's cursor, written in the transaction of the data it covers.

A crash before the commit loses both the batch and its cursor, so the batch is read again; a
crash after it keeps both. Either way nothing is lost, and the idempotent upserts make a
record read twice a no-op.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Connection, Engine, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from gateway.storage.tables import CursorRow

cursors = cast(Table, CursorRow.__table__)


def get_cursor(bind: Engine | Connection, city: str, source: str) -> str | None:
    """The stored cursor of a source (``None``: read from the beginning)."""
    query = select(cursors.c.cursor).where(cursors.c.city == city, cursors.c.source == source)
    if isinstance(bind, Engine):
        with bind.connect() as connection:
            return connection.execute(query).scalar_one_or_none()
    return bind.execute(query).scalar_one_or_none()


def put_cursor(
    connection: Connection, city: str, source: str, cursor: str | None, *, now: datetime
) -> None:
    """Store a source's cursor inside the caller's transaction."""
    if connection.dialect.name == "postgresql":
        statement: postgresql.Insert | sqlite.Insert = postgresql.insert(cursors)
    else:
        statement = sqlite.insert(cursors)
    connection.execute(
        statement.values(
            city=city, source=source, cursor=cursor, updated_at=now
        ).on_conflict_do_update(
            index_elements=["city", "source"], set_={"cursor": cursor, "updated_at": now}
        )
    )


def reset_cursor(bind: Engine, city: str, source: str) -> None:
    """Forget a source's cursor: the next sync reads it from the beginning (no-op upserts)."""
    with bind.begin() as connection:
        connection.execute(
            cursors.delete().where(cursors.c.city == city, cursors.c.source == source)
        )
