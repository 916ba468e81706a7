"""linkage features and the review list (privacy)

Revision ID: 0003_linkage
Revises: 0002_identity
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0003_linkage"
down_revision: str | None = "0002_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
