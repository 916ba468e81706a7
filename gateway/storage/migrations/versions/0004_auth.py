"""OAuth2 signing keys, assertion replay, idempotency keys (API)

Revision ID: 0004_auth
Revises: 0003_linkage
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0004_auth"
down_revision: str | None = "0003_linkage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
