"""blocking keys of persons, read per batch by the sync engine's linker

Revision ID: 0007_linkage_blocks
Revises: 0006_summaries

The rows are derived from ``linkage_features``: a database that already holds linked records
gets them here, so that records synced after the upgrade still meet the persons before it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_linkage_blocks"
down_revision: str | None = "0006_summaries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def upgrade() -> None:
    op.create_table(
        "linkage_blocks",
        sa.Column("block", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("person_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("coded", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("block", "person_id", name=op.f("pk_linkage_blocks")),
        sqlite_with_rowid=False,
    )
    from gateway.privacy.linkage_blocks import rebuild_blocks

    rebuild_blocks(op.get_bind())


def downgrade() -> None:
    op.drop_table("linkage_blocks")
