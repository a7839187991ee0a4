"""second opinion and adjudication: which decided item a review item checks, who may
not take it (the first reviewer), and when its claim began (seconds per decision)

Plain ADD COLUMN on both back-ends (no copy of the table); existing items get NULLs:
they are first-round items, and their claims began before anyone timed them.

Revision ID: 0013_second_opinion
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_second_opinion"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "review_items", sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("review_items", sa.Column("follows", sa.String(length=32), nullable=True))
    op.add_column("review_items", sa.Column("blind_to", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.drop_column("blind_to")
        batch_op.drop_column("follows")
        batch_op.drop_column("claimed_at")
