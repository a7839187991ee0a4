"""drafts and suggestion feedback: a writer's revisions of a draft, and what became of
each suggestion (rated, or followed as inferred from the next revision)

Revision ID: 0015_drafts
Revises: 0014_guidelines
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_drafts"
down_revision = "0014_guidelines"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "draft_revisions",
        sa.Column("prediction_id", sa.String(length=32), nullable=False),
        sa.Column("draft", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("previous_id", sa.String(length=32), nullable=True),
        sa.Column("author", sa.String(length=200), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["prediction_id"],
            ["predictions.id"],
            name="fk_draft_revisions_prediction_id_predictions",
        ),
        sa.PrimaryKeyConstraint("prediction_id", name="pk_draft_revisions"),
        sa.UniqueConstraint("draft", "revision", name="uq_draft_revisions_draft_revision"),
    )
    op.create_index(
        "ix_draft_revisions_model_created_at",
        "draft_revisions",
        ["model", "created_at"],
        unique=False,
    )
    op.create_table(
        "suggestion_feedback",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("prediction_id", sa.String(length=32), nullable=False),
        sa.Column("suggestion", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=True),
        sa.Column("followed", sa.Boolean(), nullable=True),
        sa.Column("score_change", sa.Float(), nullable=True),
        sa.Column("next_prediction_id", sa.String(length=32), nullable=True),
        sa.Column("draft", sa.String(length=64), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("author", sa.String(length=200), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["prediction_id"],
            ["predictions.id"],
            name="fk_suggestion_feedback_prediction_id_predictions",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_suggestion_feedback"),
    )
    op.create_index(
        "ix_suggestion_feedback_prediction_id",
        "suggestion_feedback",
        ["prediction_id"],
        unique=False,
    )
    op.create_index(
        "ix_suggestion_feedback_model_created_at",
        "suggestion_feedback",
        ["model", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_suggestion_feedback_model_created_at", table_name="suggestion_feedback")
    op.drop_index("ix_suggestion_feedback_prediction_id", table_name="suggestion_feedback")
    op.drop_table("suggestion_feedback")
    op.drop_index("ix_draft_revisions_model_created_at", table_name="draft_revisions")
    op.drop_table("draft_revisions")
