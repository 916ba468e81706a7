"""Pre-aggregated summaries (gateway.summaries.preaggregate): people's facts and the cube.

No identifier is stored here beyond the national pseudonym ``pid`` that ``cases`` holds
already; ``summary_cells`` holds counts only. The cube is refreshed incrementally from the
``cases.feed_seq`` watermark kept in ``summary_state``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.storage.base import Base, BigId


class SummaryStateRow(Base):
    """One row: how far the cube has read the change feed, and with which definitions."""

    __tablename__ = "summary_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Bumped by every refresh that writes; refreshes compute outside the write lock and commit
    # only if nobody else committed meanwhile (optimistic concurrency between replicas).
    generation: Mapped[int] = mapped_column(BigId, default=0)
    watermark: Mapped[int] = mapped_column(BigId, default=0)
    # KPI definitions version and programme window the cube was built with; a change rebuilds.
    definitions: Mapped[str] = mapped_column(String(80), default="")
    refreshed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SummaryPersonRow(Base):
    """A person's facts (attributes and dated events), as last counted into the cube."""

    __tablename__ = "summary_people"

    pid: Mapped[str] = mapped_column(String(80), primary_key=True)
    facts: Mapped[str] = mapped_column(Text)


class SummaryCaseRow(Base):
    """Which pid each case was counted under (a rotated pid must uncount the old one)."""

    __tablename__ = "summary_cases"

    case_pk: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    pid: Mapped[str] = mapped_column(String(80))


class SummaryCellRow(Base):
    """Distinct people per (period, KPI, area, breakdown category): the pre-aggregated cube."""

    __tablename__ = "summary_cells"

    granularity: Mapped[str] = mapped_column(String(10), primary_key=True)
    period: Mapped[str] = mapped_column(String(10), primary_key=True)
    kpi: Mapped[str] = mapped_column(String(40), primary_key=True)
    area: Mapped[str] = mapped_column(String(40), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(20), primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
