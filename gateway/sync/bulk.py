"""Bulk inserts for the pipeline's hot path: one DB-API ``executemany`` of plain tuples.

SQLAlchemy Core's ``conn.execute(insert(table), rows)`` turns every row dict into bound
parameters through each column type, a few microseconds a row; the pipeline writes half a dozen
rows per record, so on the hot path the rows are built as tuples of values the driver takes as
they are and sent through the connection's ``exec_driver_sql`` (same transaction, same
connection). :class:`Values` holds the per-dialect conversions, written to match what the
column types store, so SQLAlchemy reads these rows back like any other:

- SQLite: dates as ISO text, timestamps as ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC (SQLAlchemy's
  storage format), booleans as 0/1, JSON as text;
- PostgreSQL (psycopg 3, ``COPY``): dates, timestamps and booleans as they are, JSON as text
  (the server parses it into ``json``).

Reads by key go through :func:`rows_by_key`: one statement per batch on PostgreSQL, whose
plan stays an index probe per key however large the table grows.

Everything else (updates, deletes, the rare rows) stays on SQLAlchemy Core.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Row, Table, select, text


def _sqlite_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _same(value: Any) -> Any:
    return value


class Values:
    """How values of each column type are handed to the database's driver."""

    __slots__ = ("date", "flag", "json", "stamp")

    def __init__(self, dialect: str) -> None:
        self.json: Callable[[Any], str | None] = _json
        if dialect == "sqlite":
            self.date: Callable[[date | None], Any] = _sqlite_date
            self.flag: Callable[[bool | None], Any] = _sqlite_flag
            self.stamp: Callable[[datetime | None], Any] = _sqlite_stamp
        else:
            self.date = _same
            self.flag = _same
            self.stamp = _same


def _sqlite_flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


def _sqlite_stamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


_VALUES = {"sqlite": Values("sqlite"), "postgresql": Values("postgresql")}
_SQL: dict[tuple[str, str, tuple[str, ...], str], str] = {}


def values_for(conn: Connection) -> Values:
    return _VALUES[conn.dialect.name]


def insert_rows(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: list[Any],
    *,
    skip_stored: str | None = None,
) -> None:
    """Insert every tuple of ``rows`` into ``columns`` of ``table``, in the open transaction.

    SQLite: ``executemany`` of one ``INSERT``. PostgreSQL: ``COPY ... FROM STDIN`` on the same
    connection (psycopg's ``executemany`` costs a protocol round of work per row; COPY streams).
    ``skip_stored`` (SQLite only) names a unique column: rows whose value is stored already
    are left out (``ON CONFLICT DO NOTHING``), at no more cost than the insert's own check.
    """
    if not rows:
        return
    dialect = conn.dialect.name
    if skip_stored is not None and dialect == "postgresql":
        raise ValueError("skip_stored is for SQLite: COPY cannot skip rows")
    key = (dialect, table.name, tuple(columns), skip_stored or "")
    sql = _SQL.get(key)
    if sql is None:
        quote = conn.dialect.identifier_preparer.quote
        names = ", ".join(quote(table.c[name].name) for name in columns)
        # S608: table and column names come from our own metadata, never from input.
        if dialect == "postgresql":
            sql = f"COPY {quote(table.name)} ({names}) FROM STDIN"
        else:
            marks = ", ".join(["?"] * len(columns))
            sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})"  # noqa: S608
            if skip_stored is not None:
                sql += f" ON CONFLICT ({quote(table.c[skip_stored].name)}) DO NOTHING"
        _SQL[key] = sql
    if dialect == "postgresql":
        raw: Any = conn.connection.dbapi_connection  # a psycopg.Connection
        with raw.cursor() as cursor, cursor.copy(sql) as copy:
            write = copy.write_row
            for row in rows:
                write(row)
        return
    conn.exec_driver_sql(sql, rows)


CHUNK = 2000  # keys per IN list on SQLite: well under its parameter limit


def rows_by_key(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    *,
    fixed: Mapping[str, Any],
    key: str,
    values: Sequence[Any],
) -> Iterator[Row[Any]]:
    """The rows of ``table`` whose ``key`` is one of ``values`` and whose ``fixed`` columns
    hold the given values; ``fixed`` and ``key`` together must be a unique key of ``table``.

    SQLite: ``SELECT ... WHERE key IN (...)`` per chunk of keys. PostgreSQL: one statement,
    an index probe per key (``unnest`` of an array, ``LATERAL`` lookup). There a plain
    ``IN`` list is planned from statistics, and before the table's first ``ANALYZE`` the
    planner takes ``city = ...`` for a rare value and filters every row of the city against
    the list instead of probing the unique index: the cost grew with the table (measured: 8 s
    per batch at 100,000 records).
    """
    if not values:
        return
    unique = list(dict.fromkeys(values))
    if conn.dialect.name != "postgresql":
        where = [table.c[name] == value for name, value in fixed.items()]
        picked = [table.c[name] for name in columns]
        for start in range(0, len(unique), CHUNK):
            chunk = unique[start : start + CHUNK]
            yield from conn.execute(select(*picked).where(*where, table.c[key].in_(chunk)))
        return
    quote = conn.dialect.identifier_preparer.quote
    name_of = {name: quote(table.c[name].name) for name in (*columns, *fixed, key)}
    names = ", ".join(name_of[name] for name in columns)
    tests = " AND ".join(
        [f"r.{name_of[name]} = :f_{index}" for index, name in enumerate(fixed)]
        + [f"r.{name_of[key]} = k.v"]
    )
    array = table.c[key].type.compile(dialect=conn.dialect)
    # S608: table, column and type names come from our own metadata, never from input.
    sql = (
        f"SELECT {names} FROM unnest(CAST(:keys AS {array}[])) AS k(v) "  # noqa: S608
        f"CROSS JOIN LATERAL (SELECT {names} FROM {quote(table.name)} AS r "
        f"WHERE {tests} LIMIT 1) AS t"
    )
    params = {f"f_{index}": value for index, value in enumerate(fixed.values())}
    yield from conn.execute(text(sql), {**params, "keys": unique})
