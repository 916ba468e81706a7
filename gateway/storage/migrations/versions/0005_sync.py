"""sync runs (sync engine)

Revision ID: 0005_sync
Revises: 0004_auth
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0005_sync"
down_revision: str | None = "0004_auth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
