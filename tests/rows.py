"""Rows read straight from the store's tables, for tests that check what was
stored beyond what the store's interfaces read back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tandem.domain import Intake, Prediction, ReviewItem
from tandem.store import tables as t
from tandem.store.base import LogEntry, Store


def intake_rows(store: Store, limit: int | None = None) -> list[Intake]:
    """The intake ledger, oldest first (then by id)."""
    engine: sa.Engine = store.engine  # type: ignore[attr-defined]
    i = t.intake
    query = sa.select(i).order_by(i.c.received_at, i.c.id).limit(limit)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    out = []
    for row in rows:
        at = row["received_at"]
        out.append(Intake(**{**row, "received_at": at if at.tzinfo else at.replace(tzinfo=UTC)}))
    return out


def settled(answered: int, failed: int) -> dict[str, int]:
    """`intake_counts()` when every request received was answered and logged, or failed."""
    return {
        "received": answered + failed,
        "answered": answered,
        "failed": failed,
        "answered_unlogged": 0,
    }


def drift_reference_rows(store: Store, model: str) -> list[tuple[str, int]]:
    """(version, rows) of each drift reference stored for `model`."""
    engine: sa.Engine = store.engine  # type: ignore[attr-defined]
    r = t.drift_references
    query = sa.select(r.c.version, r.c.rows).where(r.c.model == model).order_by(r.c.version)
    with engine.connect() as conn:
        return [(version, rows) for version, rows in conn.execute(query).all()]


def log_prediction(store: Store, prediction: Prediction, review: ReviewItem | None = None) -> None:
    """Store one prediction (and its review item) through the log's batch write."""
    store.add_predictions([LogEntry(prediction, review)])


def log_for_review(
    store: Store,
    pid: str,
    at: datetime,
    *,
    created_at: datetime | None = None,
    model: str = "ml-editor",
    input: dict[str, Any] | None = None,
    features: dict[str, float] | None = None,
    label: str = "good",
    confidence: float = 0.9,
    alternatives: list[dict[str, Any]] | None = None,
    holdout: bool = False,
) -> str:
    """Log a prediction sent to review at `at` (its review item `r-PID`, reason holdout
    or low_confidence) and return the review id; what a test does not name is filler."""
    prediction = Prediction(
        id=pid,
        created_at=created_at or at,
        model=model,
        model_version="v1",
        input={"title": pid} if input is None else input,
        features=features or {},
        label=label,
        confidence=confidence,
        alternatives=alternatives or [{"label": label, "probability": confidence}],
        explanation=[],
        suggestions=[],
        route="review",
        latency_ms=1.0,
        holdout=holdout,
    )
    reason = "holdout" if holdout else "low_confidence"
    log_prediction(store, prediction, ReviewItem(f"r-{pid}", pid, "pending", at, reason))
    return f"r-{pid}"
