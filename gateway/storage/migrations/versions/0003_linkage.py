"""linkage features and the review list (privacy)

Revision ID: 0003_linkage
Revises: 0002_identity
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_linkage"
down_revision: str | None = "0002_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "linkage_features",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("city", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=60), nullable=False),
        sa.Column("record_key", sa.String(length=64), nullable=False),
        sa.Column("person_id", BigId, nullable=False),
        sa.Column("version", sa.SmallInteger(), nullable=False),
        sa.Column("features", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_linkage_features_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_linkage_features")),
        sa.UniqueConstraint(
            "city", "source", "record_key", name=op.f("uq_linkage_features_city")
        ),
    )
    with op.batch_alter_table("linkage_features", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_linkage_features_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "linkage_reviews",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("person_id", BigId, nullable=False),
        sa.Column("candidate_id", BigId, nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("levels", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_linkage_reviews_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["candidate_id"], ["persons.id"], name=op.f("fk_linkage_reviews_candidate_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_linkage_reviews")),
        sa.UniqueConstraint(
            "person_id", "candidate_id", name=op.f("uq_linkage_reviews_person_id")
        ),
    )
    with op.batch_alter_table("linkage_reviews", schema=None) as batch_op:
        batch_op.create_index("ix_linkage_reviews_status", ["status", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("linkage_reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_linkage_reviews_status")
    op.drop_table("linkage_reviews")
    with op.batch_alter_table("linkage_features", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_linkage_features_person_id"))
    op.drop_table("linkage_features")
