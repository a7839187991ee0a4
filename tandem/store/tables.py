"""The store's schema as SQLAlchemy Core tables: the single source Alembic diffs against.

Every table is here; the ones a command reads without the rest of the store are defined
in modules of their own (`tandem keys` reads key_tables, `tandem models` version_tables),
on the same MetaData, and imported here."""

from __future__ import annotations

import sqlalchemy as sa

from tandem.store.key_tables import api_keys as api_keys
from tandem.store.key_tables import page_sessions as page_sessions
from tandem.store.metadata import Timestamp
from tandem.store.metadata import metadata as metadata
from tandem.store.version_tables import model_versions as model_versions

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

# Predictions' features again, as column blocks for drift (see store/feature_blocks.py):
# written with the predictions in one transaction, merged an hour at a time.
feature_blocks = sa.Table(
    "feature_blocks",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("first_at", Timestamp, nullable=False),
    sa.Column("last_at", Timestamp, nullable=False),
    sa.Column("row_count", sa.Integer, nullable=False),
    sa.Column("feature_names", sa.JSON, nullable=False),
    sa.Column("vocabulary", sa.JSON, nullable=False),
    sa.Column("times", sa.LargeBinary, nullable=False),
    sa.Column("feature_values", sa.LargeBinary, nullable=False),
    sa.Column("confidences", sa.LargeBinary, nullable=False),
    sa.Column("label_codes", sa.LargeBinary, nullable=False),
    sa.Column("route_codes", sa.LargeBinary, nullable=False),
    sa.Index("ix_feature_blocks_window", "model", "version", "first_at"),
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
    # A claim: the reviewer working on a pending item, until it expires (0006).
    sa.Column("claimed_by", sa.String(200), nullable=True),
    sa.Column("claim_expires_at", Timestamp, nullable=True),
    sa.Index("ix_review_items_claimed_by", "claimed_by", "claim_expires_at"),
    # What the queue filters and sorts by, copied from the prediction when the item is
    # written (0011), so a filtered page is an index range, not a join over the log.
    # Nullable only so the migration adds them without copying the table; always set.
    sa.Column("model", sa.String(100), nullable=True),
    sa.Column("predicted_label", sa.String(100), nullable=True),
    sa.Column("confidence", sa.Float, nullable=True),
    # A second opinion or an adjudication (0013): `follows` is the decided item it
    # checks, `blind_to` the reviewer who gave the first answer (who may not take it),
    # `claimed_at` when the present (or, once decided, the deciding) claim began.
    sa.Column("claimed_at", Timestamp, nullable=True),
    sa.Column("follows", sa.String(32), nullable=True),
    sa.Column("blind_to", sa.String(200), nullable=True),
    # One index range per (status, model, reason, predicted label) "bucket" and sort:
    # any filter is a merge of the few buckets it matches (see store/sql_review.py).
    sa.Index(
        "ix_review_items_bucket_created",
        "status",
        "model",
        "reason",
        "predicted_label",
        "created_at",
        "id",
    ),
    sa.Index(
        "ix_review_items_bucket_confidence",
        "status",
        "model",
        "reason",
        "predicted_label",
        "confidence",
        "id",
    ),
)

# Items per bucket and status, kept in the transaction that writes or decides an item:
# the queue's counts per filter read this small table, never COUNT(*) over the items.
review_counts = sa.Table(
    "review_counts",
    metadata,
    sa.Column("model", sa.String(100), primary_key=True),
    sa.Column("reason", sa.String(32), primary_key=True),
    sa.Column("predicted_label", sa.String(100), primary_key=True),
    sa.Column("pending", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("decided", sa.BigInteger, nullable=False, server_default="0"),
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
    sa.Column("role", sa.String(16), nullable=True),
    sa.Index("ix_labels_created_at", "created_at"),
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

# One row per edit of a model's reviewer guidelines: the latest is shown, the rest is
# who changed them and when.
model_guidelines = sa.Table(
    "model_guidelines",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("markdown", sa.Text, nullable=False),
    sa.Column("edited_by", sa.String(200), nullable=False),
    sa.Column("edited_at", Timestamp, nullable=False),
    sa.Index("ix_model_guidelines_model_edited", "model", "edited_at"),
)

# -- alerts: one row per firing period; `open_key` holds the rule's name while it
# fires and NULL once resolved, so the unique constraint lets each rule have at most
# one open alert however many workers evaluate at once (NULLs never collide).
alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("rule", sa.String(100), nullable=False, index=True),
    sa.Column("signal", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("open_key", sa.String(100), nullable=True, unique=True),
    sa.Column("opened_at", Timestamp, nullable=False, index=True),
    sa.Column("resolved_at", Timestamp, nullable=True),
    sa.Column("value", sa.Float, nullable=True),
    sa.Column("evidence", sa.JSON, nullable=False),
    sa.Column("resolution", sa.JSON, nullable=True),
    sa.Column("fired_delivery", sa.String(500), nullable=True),
    sa.Column("resolved_delivery", sa.String(500), nullable=True),
)

alert_checks = sa.Table(
    "alert_checks",
    metadata,
    sa.Column("rule", sa.String(100), primary_key=True),
    sa.Column("signal", sa.String(64), nullable=False),
    sa.Column("checked_at", Timestamp, nullable=False),
    sa.Column("value", sa.Float, nullable=True),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("failing_since", Timestamp, nullable=True),
    sa.Column("evidence", sa.JSON, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
)

# -- bug triage: a status beside each `bug` feedback (no row yet means "new").
bug_triage = sa.Table(
    "bug_triage",
    metadata,
    sa.Column("feedback_id", sa.String(32), sa.ForeignKey("feedback.id"), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("updated_by", sa.String(200), nullable=True),
    sa.Column("updated_at", Timestamp, nullable=False),
)

postmortems = sa.Table(
    "postmortems",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False, index=True),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=True),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("whys", sa.JSON, nullable=False),
)

# Snapshots, not foreign keys to predictions: the record must outlive edits and purges.
postmortem_predictions = sa.Table(
    "postmortem_predictions",
    metadata,
    sa.Column("postmortem_id", sa.String(32), sa.ForeignKey("postmortems.id"), primary_key=True),
    sa.Column("prediction_id", sa.String(32), primary_key=True, index=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("snapshot", sa.JSON, nullable=False),
)

postmortem_timeline = sa.Table(
    "postmortem_timeline",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column(
        "postmortem_id",
        sa.String(32),
        sa.ForeignKey("postmortems.id"),
        nullable=False,
        index=True,
    ),
    sa.Column("at", Timestamp, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("author", sa.String(200), nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
)

postmortem_actions = sa.Table(
    "postmortem_actions",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column(
        "postmortem_id",
        sa.String(32),
        sa.ForeignKey("postmortems.id"),
        nullable=False,
        index=True,
    ),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)

drift_references = sa.Table(
    "drift_references",
    metadata,
    sa.Column("model", sa.String(100), primary_key=True),
    sa.Column("version", sa.String(64), primary_key=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("total_rows", sa.Integer, nullable=False),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("feature_names", sa.JSON, nullable=False),
    sa.Column("categorical", sa.JSON, nullable=False),
    # Compressed NumPy arrays (np.savez_compressed): one blob per version, shared by
    # every worker through the database; BLOB on SQLite, BYTEA on PostgreSQL.
    sa.Column("payload", sa.LargeBinary, nullable=False),
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

# Model artifacts' bytes, by sha256, so every host on the database can load every
# registered version (a host keeps a verified copy under TANDEM_HOME/artifacts/).
# Split into chunks of at most tandem.store.artifact_blobs.CHUNK_BYTES; all of an
# artifact's chunks commit in one transaction, so chunk 0 present means complete.
artifact_blobs = sa.Table(
    "artifact_blobs",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

# A writer's draft: each prediction made for it is its next revision (the previous one
# linked), written with the prediction in one transaction.
draft_revisions = sa.Table(
    "draft_revisions",
    metadata,
    sa.Column("prediction_id", sa.String(32), sa.ForeignKey("predictions.id"), primary_key=True),
    sa.Column("draft", sa.String(64), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("previous_id", sa.String(32), nullable=True),
    sa.Column("author", sa.String(200), nullable=True),
    sa.Column("score", sa.Float, nullable=True),
    sa.UniqueConstraint("draft", "revision", name="uq_draft_revisions_draft_revision"),
    sa.Index("ix_draft_revisions_model_created_at", "model", "created_at"),
)

# What became of each suggestion: rated by the writer (explicit) or inferred from the
# draft's next revision (implicit: followed or not, and the score's change).
suggestion_feedback = sa.Table(
    "suggestion_feedback",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column(
        "prediction_id", sa.String(32), sa.ForeignKey("predictions.id"), nullable=False, index=True
    ),
    sa.Column("suggestion", sa.String(64), nullable=False),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("helpful", sa.Boolean, nullable=True),
    sa.Column("followed", sa.Boolean, nullable=True),
    sa.Column("score_change", sa.Float, nullable=True),
    sa.Column("next_prediction_id", sa.String(32), nullable=True),
    sa.Column("draft", sa.String(64), nullable=True),
    sa.Column("comment", sa.Text, nullable=True),
    sa.Column("author", sa.String(200), nullable=True),
    sa.Column("role", sa.String(16), nullable=True),
    sa.Index("ix_suggestion_feedback_model_created_at", "model", "created_at"),
)
