"""label provenance: the role of the key that gave each label

Labels already record their source and author. A review label's role is taken from the
key of the same name when there is one, else "reviewer" (the least role that decides);
feedback labels from before this carry no author, so they stay anonymous (role NULL).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("labels", schema=None) as batch_op:
        batch_op.add_column(sa.Column("role", sa.String(length=16), nullable=True))
        batch_op.create_index("ix_labels_created_at", ["created_at"], unique=False)
    labels = sa.table(
        "labels",
        sa.column("author", sa.String),
        sa.column("source", sa.String),
        sa.column("role", sa.String),
    )
    keys = sa.table("api_keys", sa.column("name", sa.String), sa.column("role", sa.String))
    key_role = (
        sa.select(sa.func.max(keys.c.role)).where(keys.c.name == labels.c.author).scalar_subquery()
    )
    op.execute(
        labels.update()
        .where(labels.c.author.is_not(None))
        .values(role=sa.func.coalesce(key_role, sa.case((labels.c.source == "review", "reviewer"))))
    )


def downgrade() -> None:
    with op.batch_alter_table("labels", schema=None) as batch_op:
        batch_op.drop_index("ix_labels_created_at")
        batch_op.drop_column("role")
