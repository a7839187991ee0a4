"""drift references, packed features

Revision ID: 0004
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (nullable, no default): SQLite does it in place, no table copy.
    op.add_column("predictions", sa.Column("feature_layout", sa.String(length=16), nullable=True))
    op.add_column("predictions", sa.Column("feature_values", sa.LargeBinary(), nullable=True))
    op.create_table(
        "drift_references",
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("feature_names", sa.JSON(), nullable=False),
        sa.Column("categorical", sa.JSON(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("model", "version", name=op.f("pk_drift_references")),
    )


def downgrade() -> None:
    op.drop_table("drift_references")
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("feature_values")
        batch.drop_column("feature_layout")
