"""Claims in the store: oldest first, exclusive, renewed, released, expiring; and a
claim is what a decision checks. Times are passed in, so expiry needs no sleeping."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from tandem.domain import Prediction, QueueFilter, ReviewItem
from tandem.errors import Conflict, NotFound
from tandem.review import claims
from tandem.store.base import LogEntry, Store
from tandem.store.review_queue import ClaimRequest, Decision
from tests.review.queue_seed import seed
from tests.rows import log_for_review

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
TTL = timedelta(minutes=10)


def _add_items(store: Store, n: int) -> list[str]:
    """n pending review items, created one second apart (r0000 is the oldest)."""
    ids = []
    for i in range(n):
        at = T0 - timedelta(hours=1) + timedelta(seconds=i)
        pid, rid = f"p{i:04d}", f"r{i:04d}"
        store.add_predictions(
            [
                LogEntry(
                    Prediction(
                        id=pid,
                        created_at=at,
                        model="m",
                        model_version="v1",
                        input={"text": f"item {i}"},
                        features={},
                        label="good",
                        confidence=0.5,
                        alternatives=[{"label": "good", "probability": 0.5}],
                        explanation=[],
                        suggestions=[],
                        route="review",
                        latency_ms=1.0,
                    ),
                    ReviewItem(rid, pid, "pending", at, "low_confidence"),
                )
            ]
        )
        ids.append(rid)
    return ids


def _ids(rows: list[tuple[ReviewItem, Prediction]]) -> list[str]:
    return [item.id for item, _ in rows]


def test_claims_hand_out_the_oldest_free_items(store: Store) -> None:
    ids = _add_items(store, 5)
    ann = store.claim_reviews(ClaimRequest("ann", 2, T0, T0 + TTL))
    bob = store.claim_reviews(ClaimRequest("bob", 2, T0, T0 + TTL))
    assert _ids(ann) == ids[:2] and _ids(bob) == ids[2:4]
    item, prediction = ann[0]
    assert (item.claimed_by, item.claim_expires_at) == ("ann", T0 + TTL)
    assert prediction.input == {"text": "item 0"}
    assert _ids(store.list_free_reviews(T0)) == ids[4:]


def test_claiming_again_renews_and_tops_up(store: Store) -> None:
    ids = _add_items(store, 4)
    store.claim_reviews(ClaimRequest("ann", 1, T0, T0 + TTL))
    later = T0 + timedelta(minutes=5)
    again = store.claim_reviews(ClaimRequest("ann", 3, later, later + TTL))
    assert _ids(again) == ids[:3]
    assert {item.claim_expires_at for item, _ in again} == {later + TTL}
    # Held, not hoarded.
    assert _ids(store.claim_reviews(ClaimRequest("ann", 1, later, later + TTL))) == ids[:3]


def test_expired_claims_are_free_again(store: Store) -> None:
    ids = _add_items(store, 1)
    store.claim_reviews(ClaimRequest("ann", 1, T0, T0 + TTL))
    almost = T0 + TTL - timedelta(seconds=1)
    assert store.claim_reviews(ClaimRequest("bob", 1, almost, T0 + 2 * TTL)) == []
    taken = store.claim_reviews(ClaimRequest("bob", 1, T0 + TTL, T0 + 2 * TTL))
    assert _ids(taken) == ids and taken[0][0].claimed_by == "bob"
    with pytest.raises(Conflict, match="claimed by 'bob'"):
        store.decide_review(Decision(ids[0], "good", "ann", None, T0 + TTL))


def test_a_held_item_is_decided_only_by_its_holder(store: Store) -> None:
    [rid] = _add_items(store, 1)
    store.claim_reviews(ClaimRequest("ann", 1, T0, T0 + TTL))
    with pytest.raises(Conflict) as raised:
        store.decide_review(Decision(rid, "good", "bob", None, T0 + timedelta(minutes=1)))
    assert "claimed by 'ann' until 2026-03-01T12:10:00Z" in raised.value.message
    assert store.get_review(rid).status == "pending" and store.list_labels() == []
    item = store.decide_review(Decision(rid, "good", "ann", None, T0 + timedelta(minutes=1)))
    assert (item.status, item.reviewer, item.claimed_by, item.claim_expires_at) == (
        "decided",
        "ann",
        None,
        None,
    )


def test_unclaimed_items_can_still_be_decided_directly(store: Store) -> None:
    [rid] = _add_items(store, 1)
    assert store.decide_review(Decision(rid, "good", "api-client", None, T0)).status == "decided"
    assert store.claim_reviews(ClaimRequest("ann", 1, T0, T0 + TTL)) == []


def test_release_gives_the_item_back(store: Store) -> None:
    [rid] = _add_items(store, 1)
    store.claim_reviews(ClaimRequest("ann", 1, T0, T0 + TTL))
    with pytest.raises(Conflict, match="claimed by 'ann'"):
        store.release_review(rid, "bob", T0)
    released = store.release_review(rid, "ann", T0)
    assert (released.claimed_by, released.claim_expires_at) == (None, None)
    assert store.release_review(rid, "ann", T0) == released  # twice is harmless
    assert _ids(store.claim_reviews(ClaimRequest("bob", 1, T0, T0 + TTL))) == [rid]
    store.decide_review(Decision(rid, "good", "bob", None, T0))
    with pytest.raises(Conflict, match="already decided"):
        store.release_review(rid, "bob", T0)


def test_release_gives_back_only_the_named_item(store: Store) -> None:
    first, second = _add_items(store, 2)
    store.claim_reviews(ClaimRequest("ann", 2, T0, T0 + TTL))
    store.release_review(first, "ann", T0)
    assert store.get_review(second).claimed_by == "ann"
    assert _ids(store.list_free_reviews(T0)) == [first]


@pytest.mark.parametrize("after", [timedelta(0), timedelta(seconds=1)])
def test_an_expired_claim_may_be_released_by_anyone(store: Store, after: timedelta) -> None:
    """From the instant it expires, as claiming treats it."""
    [rid] = _add_items(store, 1)
    store.claim_reviews(ClaimRequest("ann", 1, T0, T0 + TTL))
    item = store.release_review(rid, "bob", T0 + TTL + after)
    assert item.id == rid and item.status == "pending"


def test_releasing_an_unknown_item_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound) as missing:
        store.release_review("nope", "ann", T0)
    assert str(missing.value) == "no review item with id 'nope'"


def test_free_items_are_paged_oldest_first(store: Store) -> None:
    ids = _add_items(store, 52)
    store.claim_reviews(ClaimRequest("ann", 1, T0, T0 + TTL))
    assert _ids(store.list_free_reviews(T0)) == ids[1:51]  # 50 a page unless told
    assert _ids(store.list_free_reviews(T0, limit=2)) == ids[1:3]
    assert _ids(store.list_free_reviews(T0, limit=2, offset=3)) == ids[4:6]


def test_the_claims_service_works_at_the_current_time(store: Store) -> None:
    ids = _add_items(store, 4)
    until, held = claims.claim(store, claims.ClaimAsk("ann", 1), 600)
    assert _ids(held) == ids[:1] and held[0][0].claim_expires_at == until
    assert timedelta(seconds=590) < until - datetime.now(UTC) <= timedelta(seconds=600)
    assert _ids(store.list_free_reviews(datetime.now(UTC), 2)) == ids[1:3]
    assert _ids(store.list_free_reviews(datetime.now(UTC), 2, 1)) == ids[2:4]
    assert claims.release(store, ids[0], "ann").claimed_by is None
    assert _ids(store.list_free_reviews(datetime.now(UTC), 10)) == ids


def test_claims_go_by_age_not_by_id(store: Store) -> None:
    for pid, age in (("a", 1), ("b", 2)):  # r-b is the older
        log_for_review(store, pid, T0 - timedelta(minutes=age), model="m")
    assert _ids(store.claim_reviews(ClaimRequest("ann", 1, T0, T0 + TTL))) == ["r-b"]


def test_fifty_threads_claim_disjoint_batches(store: Store) -> None:
    """Real concurrency at the database (SQLite's lock, PostgreSQL's row locks): every
    item goes to exactly one claimer, and nothing is left over."""
    ids = _add_items(store, 300)
    got: dict[str, list[str]] = {}
    start = threading.Barrier(50)

    def reviewer(name: str) -> None:
        start.wait()
        got[name] = _ids(store.claim_reviews(ClaimRequest(name, 6, T0, T0 + TTL)))

    threads = [threading.Thread(target=reviewer, args=(f"r{i}",)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    owners = Counter(rid for batch in got.values() for rid in batch)
    assert sorted(owners) == ids and set(owners.values()) == {1}
    for name, batch in got.items():
        assert {store.get_review(rid).claimed_by for rid in batch} == {name}


def test_fifty_threads_claim_disjoint_batches_of_their_filters(store: Store) -> None:
    """As above, with each claimer aiming at a model, a reason or a predicted label, or
    at all of it, in another order: still no item twice, and only what each aimed at."""
    items = seed(store, 1200)
    aims = [
        (QueueFilter(model="digits"), "oldest"),
        (QueueFilter(reason="holdout"), "priority"),
        (QueueFilter(label="leaves"), "least_confident"),
        (QueueFilter(model="digits", reason="low_confidence"), "priority"),
        (QueueFilter(), "priority"),
    ]
    got: dict[str, tuple[int, list[ReviewItem]]] = {}
    start = threading.Barrier(50)
    now = datetime.now(UTC)

    def reviewer(n: int) -> None:
        where, sort = aims[n % len(aims)]
        start.wait()
        claimed = store.claim_reviews(ClaimRequest(f"r{n}", 6, now, now + TTL, where, sort))  # type: ignore[arg-type]
        got[f"r{n}"] = (n % len(aims), [item for item, _p in claimed])

    threads = [threading.Thread(target=reviewer, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    owners = Counter(item.id for _aim, batch in got.values() for item in batch)
    assert owners and set(owners.values()) == {1}
    assert set(owners) <= {i.id for i in items}
    for name, (aim, batch) in got.items():
        where = aims[aim][0]
        assert len(batch) == 6, name  # 1,200 items: enough for every aim
        assert all(where.matches(i.model, i.reason, i.predicted_label) for i in batch)
        assert {store.get_review(i.id).claimed_by for i in batch} == {name}
