"""feature blocks: predictions' features as column blocks for drift

Replaces the packed feature columns of 0004 (one row per prediction was still too many
rows to fetch for a million-row drift window). Existing predictions are copied into
blocks here, `TARGET_ROWS` at a time, so drift over old windows keeps working.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from dataclasses import asdict

import sqlalchemy as sa
from alembic import op

from tandem.store.feature_blocks import TARGET_ROWS, blocks_of, encode

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_predictions = sa.table(
    "predictions",
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("model", sa.String()),
    sa.column("model_version", sa.String()),
    sa.column("features", sa.JSON()),
    sa.column("label", sa.String()),
    sa.column("confidence", sa.Float()),
    sa.column("route", sa.String()),
)


def _columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("feature_names", sa.JSON(), nullable=False),
        sa.Column("vocabulary", sa.JSON(), nullable=False),
        sa.Column("times", sa.LargeBinary(), nullable=False),
        sa.Column("feature_values", sa.LargeBinary(), nullable=False),
        sa.Column("confidences", sa.LargeBinary(), nullable=False),
        sa.Column("label_codes", sa.LargeBinary(), nullable=False),
        sa.Column("route_codes", sa.LargeBinary(), nullable=False),
    ]


def upgrade() -> None:
    blocks = op.create_table(
        "feature_blocks",
        *_columns(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feature_blocks")),
    )
    op.create_index("ix_feature_blocks_window", "feature_blocks", ["model", "version", "first_at"])
    _backfill(blocks)
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("feature_values")
        batch.drop_column("feature_layout")


def _backfill(blocks: sa.Table) -> None:
    p = _predictions
    query = sa.select(
        p.c.created_at,
        p.c.model,
        p.c.model_version,
        p.c.features,
        p.c.label,
        p.c.confidence,
        p.c.route,
    ).order_by(p.c.model, p.c.model_version, p.c.created_at)
    conn = op.get_bind()
    result = conn.execute(query.execution_options(yield_per=TARGET_ROWS))
    for rows in result.partitions():
        encoded = [asdict(encode(b)) for b in blocks_of(rows)]
        conn.execute(blocks.insert(), encoded)


def downgrade() -> None:
    op.add_column("predictions", sa.Column("feature_layout", sa.String(length=16), nullable=True))
    op.add_column("predictions", sa.Column("feature_values", sa.LargeBinary(), nullable=True))
    op.drop_index("ix_feature_blocks_window", table_name="feature_blocks")
    op.drop_table("feature_blocks")
