"""artifact blobs: model artifacts' bytes in the store, for every host

Versions registered before this keep loading from the files under TANDEM_HOME/artifacts/;
a host that has such a file copies it into the store when it starts (see
tandem.models.artifacts), so the others can load it too.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "artifact_blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", "seq", name=op.f("pk_artifact_blobs")),
    )


def downgrade() -> None:
    op.drop_table("artifact_blobs")
