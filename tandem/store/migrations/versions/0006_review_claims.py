"""review claims: who holds a pending item, and until when

Revision ID: 0006
Revises: 0002
Create Date: 2026-11-30 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("claim_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        # "My live claims" (the review page, renewals) look items up by holder.
        batch_op.create_index(
            "ix_review_items_claimed_by", ["claimed_by", "claim_expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.drop_index("ix_review_items_claimed_by")
        batch_op.drop_column("claim_expires_at")
        batch_op.drop_column("claimed_by")
