"""API keys and the page sessions opened with them."""

from __future__ import annotations

import sqlalchemy as sa

from tandem.store.metadata import Timestamp, metadata

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, index=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(16), nullable=False, index=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("revoked_at", Timestamp, nullable=True),
    sa.Column("last_used_at", Timestamp, nullable=True),
    sa.CheckConstraint("role IN ('client', 'reviewer', 'admin')", name="role"),
)

page_sessions = sa.Table(
    "page_sessions",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    # SHA-256 of the cookie's token: a copy of this table logs no one in.
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("key_id", sa.String(32), sa.ForeignKey("api_keys.id"), nullable=False, index=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False, index=True),
    sa.Column("revoked_at", Timestamp, nullable=True),
    sa.Column("last_seen_at", Timestamp, nullable=True),
)
