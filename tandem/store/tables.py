"""The store's schema as SQLAlchemy Core tables: the single source Alembic diffs against."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

Timestamp = sa.DateTime(timezone=True)

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

predictions = sa.Table(
    "predictions",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("created_at", Timestamp, nullable=False, index=True),
    sa.Column("model", sa.String(100), nullable=False, index=True),
    sa.Column("model_version", sa.String(64), nullable=False),
    sa.Column("input", sa.JSON, nullable=False),
    sa.Column("features", sa.JSON, nullable=False),
    sa.Column("label", sa.String(100), nullable=False),
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("alternatives", sa.JSON, nullable=False),
    sa.Column("explanation", sa.JSON, nullable=False),
    sa.Column("suggestions", sa.JSON, nullable=False),
    sa.Column("route", sa.String(16), nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("holdout", sa.Boolean, nullable=False, default=False),
    sa.Column("fallback_reason", sa.String(200), nullable=True),
)

review_items = sa.Table(
    "review_items",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column(
        "prediction_id", sa.String(32), sa.ForeignKey("predictions.id"), nullable=False, index=True
    ),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("decided_at", Timestamp, nullable=True),
    sa.Column("reviewer", sa.String(200), nullable=True),
    sa.Column("label", sa.String(100), nullable=True),
    sa.Column("comment", sa.Text, nullable=True),
    sa.Index("ix_review_items_status_created", "status", "created_at"),
)

feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column(
        "prediction_id", sa.String(32), sa.ForeignKey("predictions.id"), nullable=False, index=True
    ),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("label", sa.String(100), nullable=True),
    sa.Column("comment", sa.Text, nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
)

labels = sa.Table(
    "labels",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column(
        "prediction_id", sa.String(32), sa.ForeignKey("predictions.id"), nullable=False, index=True
    ),
    sa.Column("label", sa.String(100), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("source_id", sa.String(32), nullable=False),
    sa.Column("author", sa.String(200), nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
)

shadow_predictions = sa.Table(
    "shadow_predictions",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column(
        "prediction_id", sa.String(32), sa.ForeignKey("predictions.id"), nullable=False, index=True
    ),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("model_version", sa.String(64), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("label", sa.String(100), nullable=True),
    sa.Column("confidence", sa.Float, nullable=True),
    sa.Column("alternatives", sa.JSON, nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("error", sa.String(200), nullable=True),
    sa.Index("ix_shadow_predictions_model_version", "model", "model_version"),
)

model_events = sa.Table(
    "model_events",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("model", sa.String(100), nullable=False, index=True),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("previous_version", sa.String(64), nullable=True),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("comment", sa.Text, nullable=True),
    sa.Column("evidence", sa.JSON, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
)

intake = sa.Table(
    "intake",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("received_at", Timestamp, nullable=False, index=True),
    sa.Column("model", sa.String(100), nullable=True),
    sa.Column("outcome", sa.String(16), nullable=False),
    # Not a foreign key: the ledger must be able to show a prediction that went missing.
    sa.Column("prediction_id", sa.String(32), nullable=True, index=True),
    sa.Column("status_code", sa.Integer, nullable=False),
    sa.Column("error_code", sa.String(64), nullable=True),
    sa.Column("message", sa.Text, nullable=True),
)
