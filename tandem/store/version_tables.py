"""Registered model versions."""

from __future__ import annotations

import sqlalchemy as sa

from tandem.store.metadata import Timestamp, metadata

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("version", sa.String(64), primary_key=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("artifact_sha256", sa.String(64), nullable=False),
    sa.Column("data_hash", sa.String(64), nullable=False),
    sa.Column("metrics", sa.JSON, nullable=False),
    sa.Column("shadow", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("card", sa.JSON, nullable=False, server_default="{}"),
)
