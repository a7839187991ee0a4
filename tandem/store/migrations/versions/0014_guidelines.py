"""model guidelines: each model's Markdown guidelines for reviewers, one row per edit

Revision ID: 0014_guidelines
Revises: 0013_second_opinion
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_guidelines"
down_revision = "0013_second_opinion"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_guidelines",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("markdown", sa.Text(), nullable=False),
        sa.Column("edited_by", sa.String(length=200), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_guidelines")),
    )
    op.create_index("ix_model_guidelines_model_edited", "model_guidelines", ["model", "edited_at"])


def downgrade() -> None:
    op.drop_index("ix_model_guidelines_model_edited", table_name="model_guidelines")
    op.drop_table("model_guidelines")
