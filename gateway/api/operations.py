"""What operators see: readiness and the status of sources, quarantine and keys.

Tables of other features (sync runs, pseudonym key versions) are read by reflection when they
exist, so the status keeps working whatever stage a database is at. Cursor values are not
shown (they may hold a source's record ids), only when they last moved.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, Table, func, inspect, select, text
from sqlalchemy.exc import SQLAlchemyError

from gateway.auth.jwks import SigningKeyStore
from gateway.storage.migrate import current_revision, head_revision
from gateway.storage.tables import CursorRow, QuarantineRow

logger = logging.getLogger(__name__)

_RUN_FIELDS = (
    "status",
    "started_at",
    "finished_at",
    "read",
    "accepted",
    "duplicate",
    "rejected",
    "quarantined",
)


def readiness(engine: Engine) -> dict[str, bool]:
    """Database reachable, migrations applied."""
    checks = {"database": False, "migrations": False}
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = True
        checks["migrations"] = current_revision(engine) == head_revision()
    except SQLAlchemyError as exc:
        logger.warning("readiness: database unavailable", extra={"error": type(exc).__name__})
    return checks


def _reflect(connection: Connection, name: str) -> Table | None:
    if not inspect(connection).has_table(name):
        return None
    return Table(name, MetaData(), autoload_with=connection)


def _last_runs(connection: Connection) -> dict[tuple[str, str], dict[str, Any]]:
    runs = _reflect(connection, "sync_runs")
    if runs is None or not {"city", "source", "started_at"} <= set(runs.c.keys()):
        return {}
    latest = (
        select(runs.c.city, runs.c.source, func.max(runs.c.started_at).label("started_at"))
        .group_by(runs.c.city, runs.c.source)
        .subquery()
    )
    fields = [runs.c[name] for name in _RUN_FIELDS if name in runs.c]
    query = select(runs.c.city, runs.c.source, *fields).join(
        latest,
        (runs.c.city == latest.c.city)
        & (runs.c.source == latest.c.source)
        & (runs.c.started_at == latest.c.started_at),
    )
    result: dict[tuple[str, str], dict[str, Any]] = {}
    for row in connection.execute(query):
        mapping = row._mapping
        result[(mapping["city"], mapping["source"])] = {
            name: mapping[name] for name in _RUN_FIELDS if name in mapping
        }
    return result


def _pseudonym_keys(connection: Connection) -> list[dict[str, Any]]:
    versions = _reflect(connection, "key_versions")
    if versions is None or not {"domain", "current_version"} <= set(versions.c.keys()):
        return []
    columns = [versions.c.domain, versions.c.current_version]
    if "rotated_at" in versions.c:
        columns.append(versions.c.rotated_at)
    return [dict(row._mapping) for row in connection.execute(select(*columns))]


def status_report(engine: Engine, keys: SigningKeyStore) -> dict[str, Any]:
    """Sources (cursor moved at, last run), quarantine by source, key versions, database."""
    with engine.connect() as connection:
        cursors = {
            (row.city, row.source): row.updated_at
            for row in connection.execute(
                select(CursorRow.city, CursorRow.source, CursorRow.updated_at)
            )
        }
        runs = _last_runs(connection)
        quarantine = [
            {"city": city, "source": source, "waiting": waiting}
            for city, source, waiting in connection.execute(
                select(QuarantineRow.city, QuarantineRow.source, func.count())
                .where(QuarantineRow.replayed_at.is_(None))
                .group_by(QuarantineRow.city, QuarantineRow.source)
                .order_by(QuarantineRow.city, QuarantineRow.source)
            )
        ]
        pseudonym_keys = _pseudonym_keys(connection)
    sources = [
        {
            "city": city,
            "source": source,
            "cursor_updated_at": cursors.get((city, source)),
            "last_run": runs.get((city, source)),
        }
        for city, source in sorted(set(cursors) | set(runs))
    ]
    active = keys.active().kid
    signing = [
        {"kid": jwk["kid"], "active": jwk["kid"] == active}
        for jwk in keys.published()
        if isinstance(jwk.get("kid"), str)
    ]
    current, head = current_revision(engine), head_revision()
    return {
        "sources": sources,
        "quarantine": quarantine,
        "signing_keys": signing,
        "pseudonym_keys": pseudonym_keys,
        "database": {"revision": current, "head": head, "up_to_date": current == head},
    }
