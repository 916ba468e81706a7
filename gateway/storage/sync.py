"""Sync tables: the log of every sync run (who ran which source, when, with what result).

The run log is how operators see a source's history and how the replica test proves that two
gateway processes never ran the same source at once: a run's row is written after its lock is
taken and finished before the lock is released, so intervals of one source never overlap.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.storage.base import Base, BigId


class SyncRunRow(Base):
    """One run of one source's sync, by one runner (``hostname:pid``)."""

    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    city: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(60))
    runner: Mapped[str] = mapped_column(String(120))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # running | ok | failed | circuit_open
    status: Mapped[str] = mapped_column(String(20))
    read: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    duplicate: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    # The error's class and message: messages never carry values (STYLE "Errors").
    error: Mapped[str | None] = mapped_column(String(400))

    __table_args__ = (Index("ix_sync_runs_city_source_started", "city", "source", "started_at"),)
