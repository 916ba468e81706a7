"""indexes and pre-aggregation for summaries

Revision ID: 0006_summaries
Revises: 0005_sync
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0006_summaries"
down_revision: str | None = "0005_sync"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
