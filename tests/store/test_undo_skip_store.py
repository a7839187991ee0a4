"""Undo and skip in the store: a decision taken back within its window puts the item
back (held by its reviewer) and withdraws only its own label; a skipped item keeps
the skipper's reason and is not handed to them again. Times are passed in."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tandem.domain import Feedback, Label
from tandem.errors import Conflict, NotFound
from tandem.store.base import Store
from tandem.store.review_queue import ClaimRequest, Decision
from tests.store.test_claims_store import T0, TTL, _add_items, _ids
from tests.store.test_sql_store import UNDECIDED, _decision

WINDOW = timedelta(seconds=60)


def _undo(store: Store, rid: str, who: str, at: timedelta) -> object:
    now = T0 + at
    return store.undo_review(rid, who, now, now - WINDOW, now + TTL)


def test_an_undone_decision_puts_the_item_back_and_withdraws_its_label(store: Store) -> None:
    rid, other = _add_items(store, 2)
    pid = store.get_review(rid).prediction_id
    feedback = Feedback("f1", pid, "incorrect", "poor", None, T0)
    store.add_feedback(feedback, Label("l-f", pid, "poor", "feedback", "f1", "cli", T0))
    before = store.queue_counts()
    store.decide_review(Decision(rid, "good", "ann", "looks fine", T0, role="reviewer"))
    assert store.count_reviews("decided") == 1
    item = _undo(store, rid, "ann", timedelta(seconds=59))
    assert item == store.get_review(rid)
    assert _decision(item) == UNDECIDED
    assert (item.claimed_by, item.claim_expires_at) == ("ann", T0 + timedelta(seconds=59) + TTL)
    assert [(lab.source, lab.label) for lab in store.list_labels(pid)] == [("feedback", "poor")]
    assert store.queue_counts() == before
    # Held by ann: bob cannot take it, ann gets it back first and decides it anew.
    later = T0 + timedelta(seconds=60)
    assert _ids(store.claim_reviews(ClaimRequest("bob", 2, later, T0 + TTL))) == [other]
    assert _ids(store.claim_reviews(ClaimRequest("ann", 1, later, T0 + TTL))) == [rid]
    store.decide_review(
        Decision(rid, "poor", "ann", None, T0 + timedelta(seconds=61), role="reviewer")
    )
    assert store.get_review(rid).label == "poor"


def test_undo_is_refused_late_for_others_and_for_pending_items(store: Store) -> None:
    rid, pending = _add_items(store, 2)
    store.decide_review(Decision(rid, "good", "ann", None, T0))
    with pytest.raises(Conflict, match=r"decided by 'ann', not 'bob'"):
        _undo(store, rid, "bob", timedelta(seconds=1))
    with pytest.raises(Conflict, match=r"more than 60 s ago.*only within 60 s"):
        _undo(store, rid, "ann", timedelta(seconds=61))
    with pytest.raises(Conflict, match="not decided"):
        _undo(store, pending, "ann", timedelta(seconds=1))
    with pytest.raises(NotFound):
        _undo(store, "nope", "ann", timedelta(seconds=1))
    assert store.get_review(rid).status == "decided"
    assert [lab.label for lab in store.list_labels(store.get_review(rid).prediction_id)] == ["good"]
    _undo(store, rid, "ann", timedelta(seconds=60))  # the window's last moment
    with pytest.raises(Conflict, match="not decided"):
        _undo(store, rid, "ann", timedelta(seconds=60))  # twice: nothing left to undo


def test_a_skipped_item_keeps_the_reason_and_is_not_offered_again(store: Store) -> None:
    first, second, third = _add_items(store, 3)
    assert _ids(store.claim_reviews(ClaimRequest("ann", 2, T0, T0 + TTL))) == [first, second]
    skipped = store.release_review(first, "ann", T0, "skipped by ann: blurry")
    assert (skipped.claimed_by, skipped.comment) == (None, "skipped by ann: blurry")
    # Not renewed nor taken again while excluded; the next free one tops the batch up.
    again = store.claim_reviews(ClaimRequest("ann", 2, T0, T0 + TTL, exclude=[first]))
    assert _ids(again) == [second, third]
    # Free for others.
    assert _ids(store.claim_reviews(ClaimRequest("bob", 1, T0, T0 + TTL))) == [first]
    assert store.claim_reviews(ClaimRequest("ann", 3, T0, T0 + TTL, exclude=[second, third])) == []
    assert store.get_review(second).claimed_by == "ann"  # excluded, so left as it was
