"""Migration 0011 on a database with review items: each item gets its prediction's
model, label and confidence, and the per-bucket counts start from what is there."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tandem.settings import Settings
from tandem.store import make_engine
from tandem.store.migrate import upgrade

ROWS = [
    ("digits", "7", 0.3, "pending"),
    ("digits", "7", 0.2, "decided"),
    ("churn", "stays", 0.6, "pending"),
]


@pytest.mark.empty_store
def test_existing_items_are_filled_and_counted(settings: Settings) -> None:
    engine = make_engine(settings.resolved_database_url)
    try:
        upgrade(engine, "0008")
        now = datetime.now(UTC)
        with engine.begin() as conn:
            for i, (model, label, confidence, status) in enumerate(ROWS):
                conn.execute(
                    sa.text(
                        "INSERT INTO predictions (id, created_at, model, model_version, input, "
                        "features, label, confidence, alternatives, explanation, suggestions, "
                        "route, latency_ms, holdout) VALUES (:id, :at, :model, 'v1', '{}', "
                        "'{}', :label, :confidence, '[]', '[]', '[]', 'review', 1.0, false)"
                    ),
                    {
                        "id": f"p{i}",
                        "at": now,
                        "model": model,
                        "label": label,
                        "confidence": confidence,
                    },
                )
                conn.execute(
                    sa.text(
                        "INSERT INTO review_items (id, prediction_id, status, reason, "
                        "created_at) VALUES (:id, :pid, :status, 'low_confidence', :at)"
                    ),
                    {"id": f"r{i}", "pid": f"p{i}", "status": status, "at": now},
                )
        upgrade(engine)
        with engine.connect() as conn:
            items = conn.execute(
                sa.text("SELECT model, predicted_label, confidence FROM review_items ORDER BY id")
            ).all()
            counts = conn.execute(
                sa.text(
                    "SELECT model, reason, predicted_label, pending, decided FROM review_counts "
                    "ORDER BY model"
                )
            ).all()
        assert [tuple(row) for row in items] == [(m, lab, c) for m, lab, c, _s in ROWS]
        assert [tuple(row) for row in counts] == [
            ("churn", "low_confidence", "stays", 1, 0),
            ("digits", "low_confidence", "7", 1, 1),
        ]
    finally:
        engine.dispose()
