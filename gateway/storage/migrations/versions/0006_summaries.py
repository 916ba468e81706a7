"""indexes and pre-aggregation for summaries

Revision ID: 0006_summaries
Revises: 0005_sync
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_summaries"
down_revision: str | None = "0005_sync"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "summary_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation", BigId, nullable=False),
        sa.Column("watermark", BigId, nullable=False),
        sa.Column("definitions", sa.String(length=80), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_summary_state")),
    )
    op.create_table(
        "summary_people",
        sa.Column("pid", sa.String(length=80), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("pid", name=op.f("pk_summary_people")),
    )
    op.create_table(
        "summary_cases",
        sa.Column("case_pk", BigId, autoincrement=False, nullable=False),
        sa.Column("pid", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("case_pk", name=op.f("pk_summary_cases")),
    )
    op.create_table(
        "summary_cells",
        sa.Column("granularity", sa.String(length=10), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("kpi", sa.String(length=40), nullable=False),
        sa.Column("area", sa.String(length=40), nullable=False),
        sa.Column("dimension", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "granularity",
            "period",
            "kpi",
            "area",
            "dimension",
            "category",
            name=op.f("pk_summary_cells"),
        ),
    )
    state = sa.table(
        "summary_state",
        sa.column("id", sa.Integer),
        sa.column("generation", sa.BigInteger),
        sa.column("watermark", sa.BigInteger),
        sa.column("definitions", sa.String),
    )
    # An empty definitions string makes the first summary request build the cube.
    op.bulk_insert(state, [{"id": 1, "generation": 0, "watermark": 0, "definitions": ""}])


def downgrade() -> None:
    op.drop_table("summary_cells")
    op.drop_table("summary_cases")
    op.drop_table("summary_people")
    op.drop_table("summary_state")
