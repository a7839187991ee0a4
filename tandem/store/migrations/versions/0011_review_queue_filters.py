"""review queue filters: the prediction's model, label and confidence on each item,
an index per sort over (status, model, reason, label), and per-bucket counts

Existing items get the values from their predictions, and the counts are taken once
here; from then on the store keeps them in the transaction that changes an item.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_BUCKET = ["status", "model", "reason", "predicted_label"]


def upgrade() -> None:
    # Plain ADD COLUMN on both back-ends: no copy of the table, even on SQLite.
    op.add_column(
        "review_items",
        sa.Column("model", sa.String(length=100), nullable=True),
    )
    op.add_column(
        "review_items",
        sa.Column("predicted_label", sa.String(length=100), nullable=True),
    )
    op.add_column("review_items", sa.Column("confidence", sa.Float(), nullable=True))
    op.execute(
        "UPDATE review_items SET "
        "model = (SELECT p.model FROM predictions p WHERE p.id = review_items.prediction_id), "
        "predicted_label = "
        "(SELECT p.label FROM predictions p WHERE p.id = review_items.prediction_id), "
        "confidence = "
        "(SELECT p.confidence FROM predictions p WHERE p.id = review_items.prediction_id)"
    )
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_review_items_bucket_created", [*_BUCKET, "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_review_items_bucket_confidence", [*_BUCKET, "confidence", "id"], unique=False
        )
    op.create_table(
        "review_counts",
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("predicted_label", sa.String(length=100), nullable=False),
        sa.Column("pending", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("decided", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("model", "reason", "predicted_label", name="pk_review_counts"),
    )
    op.execute(
        "INSERT INTO review_counts (model, reason, predicted_label, pending, decided) "
        "SELECT model, reason, predicted_label, "
        "SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN status = 'decided' THEN 1 ELSE 0 END) "
        "FROM review_items GROUP BY model, reason, predicted_label"
    )


def downgrade() -> None:
    op.drop_table("review_counts")
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.drop_index("ix_review_items_bucket_confidence")
        batch_op.drop_index("ix_review_items_bucket_created")
        batch_op.drop_column("confidence")
        batch_op.drop_column("predicted_label")
        batch_op.drop_column("model")
