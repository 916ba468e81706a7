"""identity: persons, identity tokens, pseudonyms (privacy)

Revision ID: 0002_identity
Revises: 0001_foundation
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_identity"
down_revision: str | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "key_versions",
        sa.Column("domain", sa.String(length=48), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("domain", name=op.f("pk_key_versions")),
    )
    op.create_table(
        "persons",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("person_token", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("merged_into", BigId, nullable=True),
        sa.ForeignKeyConstraint(
            ["merged_into"], ["persons.id"], name=op.f("fk_persons_merged_into_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persons")),
        sa.UniqueConstraint("person_token", name=op.f("uq_persons_person_token")),
    )
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_persons_merged_into"), ["merged_into"], unique=False)

    op.create_table(
        "identity_tokens",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("token", sa.LargeBinary(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("person_id", BigId, nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_identity_tokens_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_tokens")),
        sa.UniqueConstraint("token", name=op.f("uq_identity_tokens_token")),
    )
    with op.batch_alter_table("identity_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identity_tokens_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "pseudonyms",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("person_id", BigId, nullable=False),
        sa.Column("domain", sa.String(length=48), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_pseudonyms_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pseudonyms")),
        sa.UniqueConstraint("domain", "value", name=op.f("uq_pseudonyms_domain")),
        sa.UniqueConstraint("person_id", "domain", name=op.f("uq_pseudonyms_person_id")),
    )
    with op.batch_alter_table("pseudonyms", schema=None) as batch_op:
        batch_op.create_index("ix_pseudonyms_domain_id", ["domain", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pseudonyms", schema=None) as batch_op:
        batch_op.drop_index("ix_pseudonyms_domain_id")
    op.drop_table("pseudonyms")
    with op.batch_alter_table("identity_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_tokens_person_id"))
    op.drop_table("identity_tokens")
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_persons_merged_into"))
    op.drop_table("persons")
    op.drop_table("key_versions")
