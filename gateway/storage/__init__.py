"""Storage: SQLAlchemy 2 tables, engines for SQLite and PostgreSQL, Alembic migrations."""

from gateway.storage.engine import is_postgres, make_engine, normalise_url
from gateway.storage.migrate import current_revision, head_revision, is_up_to_date, upgrade

__all__ = [
    "current_revision",
    "head_revision",
    "is_postgres",
    "is_up_to_date",
    "make_engine",
    "normalise_url",
    "upgrade",
]
