"""A review decision is one transaction: the label check, the item marked decided (its
claim ended) and the label recorded all happen, or none does. Failures are real ones
from the database, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tandem.errors import InvalidInput, TandemError
from tandem.review import claims
from tandem.review import service as review_service
from tandem.store.base import LogEntry, Store
from tests.store.test_sql_store import UNDECIDED, _decision, _prediction, _review

REFUSE_LABELS = {
    "sqlite": [
        "CREATE TRIGGER refuse_labels BEFORE INSERT ON labels "
        "BEGIN SELECT RAISE(ABORT, 'labels refused'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_labels() RETURNS trigger AS "
        "$$ BEGIN RAISE EXCEPTION 'labels refused'; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER refuse_labels BEFORE INSERT ON labels "
        "FOR EACH ROW EXECUTE FUNCTION refuse_labels()",
    ],
}


@pytest.fixture
def claimed(store: Store) -> Iterator[Store]:
    """One pending item, p1's, held by ann."""
    store.add_predictions([LogEntry(_prediction(), _review())])
    claims.claim(store, claims.ClaimAsk("ann", 1), ttl_s=600)
    yield store


def _refuse_label_inserts(store: Store) -> None:
    """A trigger that makes every insert into `labels` fail, as a full disk or a
    violated constraint would: the database itself refuses the statement."""
    engine: sa.Engine = store.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        for statement in REFUSE_LABELS[engine.dialect.name]:
            conn.execute(sa.text(statement))


def test_a_failed_label_insert_leaves_the_item_pending_and_claimed(claimed: Store) -> None:
    _refuse_label_inserts(claimed)
    with pytest.raises(TandemError):
        review_service.decide(claimed, "r1", "poor", "ann", "too short")
    item = claimed.get_review("r1")
    assert _decision(item) == UNDECIDED
    assert item.claimed_by == "ann" and item.claim_expires_at is not None
    assert claimed.list_labels() == []


def test_a_label_the_model_never_offered_writes_nothing(claimed: Store) -> None:
    with pytest.raises(InvalidInput, match="not one of the model's labels"):
        review_service.decide(claimed, "r1", "excellent", "ann", None)
    item = claimed.get_review("r1")
    assert (item.status, item.claimed_by) == ("pending", "ann")
    assert claimed.list_labels() == []


def test_a_decision_writes_the_item_and_its_label_together(claimed: Store) -> None:
    item = review_service.decide(claimed, "r1", "poor", "ann", "too short")
    assert (item.status, item.label, item.reviewer, item.claimed_by) == (
        "decided",
        "poor",
        "ann",
        None,
    )
    assert claimed.get_review("r1") == item
    [label] = claimed.list_labels("p1")
    assert (label.label, label.source, label.source_id, label.author, label.created_at) == (
        "poor",
        "review",
        "r1",
        "ann",
        item.decided_at,
    )
