from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from tandem.domain import (
    Feedback,
    Label,
    ModelEvent,
    ModelVersion,
    Prediction,
    ReviewItem,
    Suggestion,
)
from tandem.errors import Conflict, NotFound
from tandem.settings import Settings
from tandem.store import open_store
from tandem.store.base import LogEntry, Store
from tandem.store.review_queue import Decision

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _prediction(pid: str = "p1") -> Prediction:
    return Prediction(
        id=pid,
        created_at=NOW,
        model="m",
        model_version="v1",
        input={"title": "t", "body": "b <script>"},
        features={"x": 1.5},
        label="good",
        confidence=0.55,
        alternatives=[
            {"label": "good", "probability": 0.55},
            {"label": "poor", "probability": 0.45},
        ],
        explanation=[{"feature": "x", "value": 1.5, "contribution": 0.2}],
        suggestions=[Suggestion("do_y", "x", "Do y.", 1.5, {"low": 2.0, "high": 3.0}).as_dict()],
        route="review",
        latency_ms=0.4,
    )


def _review(rid: str = "r1", pid: str = "p1") -> ReviewItem:
    return ReviewItem(
        id=rid, prediction_id=pid, status="pending", created_at=NOW, reason="low_confidence"
    )


UNDECIDED = ("pending", None, None, None, None)
"""`_decision` of an item never decided, or whose decision was taken back."""


def _decision(item: ReviewItem) -> tuple[object, ...]:
    """What a decision sets on an item: status, label, reviewer, time and comment."""
    return (item.status, item.label, item.reviewer, item.decided_at, item.comment)


def test_prediction_round_trips_exactly(store: Store) -> None:
    store.add_predictions([LogEntry(_prediction(), _review())])
    assert store.get_prediction("p1") == _prediction()
    # The item comes back carrying its prediction's model, label and confidence,
    # which the store copies onto it for the queue's filters.
    p = _prediction()
    filled = replace(_review(), model=p.model, predicted_label=p.label, confidence=p.confidence)
    assert store.get_review("r1") == filled


def test_suggestions_stored_as_text_read_as_objects(store: Store) -> None:
    """Rows from before suggestions were objects hold plain strings."""
    store.add_predictions([LogEntry(replace(_prediction(), suggestions=["do y"]))])  # type: ignore[list-item]
    [read] = store.get_prediction("p1").suggestions
    assert read == {
        "id": "note",
        "feature": None,
        "text": "do y",
        "value": None,
        "typical": None,
        "advice": None,
        "fix": None,
    }


def test_unknown_ids_are_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.get_prediction("nope")
    with pytest.raises(NotFound):
        store.decide_review(Decision("nope", "good", "ann", None, NOW))


def test_second_decision_conflicts_and_keeps_the_first(store: Store) -> None:
    store.add_predictions([LogEntry(_prediction(), _review())])
    store.decide_review(Decision("r1", "poor", "ann", "too short", NOW))
    with pytest.raises(Conflict, match="already decided by 'ann'"):
        store.decide_review(Decision("r1", "good", "bob", None, NOW))
    item = store.get_review("r1")
    assert (item.status, item.label, item.reviewer) == ("decided", "poor", "ann")
    [label] = store.list_labels("p1")
    assert (label.label, label.source, label.source_id, label.author) == (
        "poor",
        "review",
        "r1",
        "ann",
    )


def test_queue_lists_pending_with_their_prediction(store: Store) -> None:
    store.add_predictions([LogEntry(_prediction("p1"), _review("r1", "p1"))])
    store.add_predictions([LogEntry(_prediction("p2"), _review("r2", "p2"))])
    store.decide_review(Decision("r1", "good", "ann", None, NOW))
    [(item, pred)] = store.list_reviews("pending")
    assert item.id == "r2" and pred == _prediction("p2")
    assert store.count_reviews("pending") == 1 and store.count_reviews() == 2


def test_feedback_with_label_is_one_transaction(store: Store) -> None:
    store.add_predictions([LogEntry(_prediction())])
    fb = Feedback("f1", "p1", "incorrect", "poor", "nope", NOW)
    store.add_feedback(fb, Label("l1", "p1", "poor", "feedback", "f1", None, NOW))
    assert store.list_feedback("p1") == [fb]
    orphan = replace(fb, id="f2", prediction_id="missing")
    with pytest.raises(NotFound):
        store.add_feedback(orphan, None)
    assert len(store.list_labels()) == 1


def _event(version: str, previous: str | None) -> ModelEvent:
    return ModelEvent(version + "e", "m", "promote", version, previous, "ann", "ok", {}, NOW)


def test_one_production_version_per_model(store: Store) -> None:
    for v in ("v1", "v2"):
        store.add_model_version(ModelVersion("m", v, NOW, "candidate", "0" * 64, "d" * 64, {}))
    store.set_production("m", "v1", _event("v1", None))
    store.set_production("m", "v2", _event("v2", "v1"))
    statuses = {v.version: v.status for v in store.list_model_versions("m")}
    assert statuses == {"v1": "retired", "v2": "production"}
    assert [e.version for e in store.list_events("m")] == ["v1", "v2"]
    with pytest.raises(NotFound):
        store.set_production("m", "v9", _event("v9", "v2"))
    assert len(store.list_events("m")) == 2  # the refused change left no audit record


def test_migrations_are_idempotent(settings: Settings) -> None:
    url = settings.resolved_database_url
    first = open_store(url)
    first.add_predictions([LogEntry(_prediction())])
    first.close()
    again = open_store(url)  # runs `upgrade head` again on an up-to-date store
    assert again.count_predictions() == 1
    again.close()


def test_the_suite_runs_on_the_backend_it_was_asked_for(store: Store) -> None:
    from tests.conftest import TEST_DATABASE_URL

    dialect = store.engine.dialect.name  # type: ignore[attr-defined]
    assert dialect == ("postgresql" if TEST_DATABASE_URL else "sqlite")
