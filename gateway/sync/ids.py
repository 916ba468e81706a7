"""Primary keys for bulk inserts, taken before the insert so that no RETURNING is needed."""

from __future__ import annotations

from sqlalchemy import Connection, Table, text


def allocate_ids(conn: Connection, table: Table, count: int) -> list[int]:
    """``count`` fresh primary keys of ``table``, so that bulk inserts need no RETURNING.

    SQLite cannot return the ids of a multi-row insert in order (SQLAlchemy then inserts row by
    row), so ids are taken here: on SQLite past the largest one — safe because the batch
    already holds the database's write lock —, on PostgreSQL from the column's sequence.
    """
    if count <= 0:
        return []
    name = table.name
    if conn.dialect.name == "postgresql":
        # The sequence is named once per connection: looked up in every row, it costs more
        # than nextval itself. One array comes back rather than a row per id.
        sequences: dict[str, str] = conn.info.setdefault("lgnet_sequences", {})
        sequence = sequences.get(name)
        if sequence is None:
            query = text("SELECT pg_get_serial_sequence(:table, 'id')")
            sequence = sequences[name] = conn.execute(query, {"table": name}).scalar_one()
        query = text(
            "SELECT array_agg(nextval(CAST(:sequence AS regclass))) FROM generate_series(1, :n)"
        )
        ids = conn.execute(query, {"sequence": sequence, "n": count}).scalar_one()
        return sorted(int(v) for v in ids)
    # S608: the table name is one of ours, never input.
    top = conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {name}")).scalar_one()  # noqa: S608
    return list(range(int(top) + 1, int(top) + 1 + count))
