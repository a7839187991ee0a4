"""GET /v1/reviews aimed by model, reason, predicted label and age, in three orders,
paged by cursor; claims aimed the same way. Over a store of several models' items."""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tandem.domain import REVIEW_REASONS, ReviewItem, review_sort_key
from tandem.settings import Settings
from tandem.store import open_store
from tandem.store.base import Store
from tandem.store.review_queue import Decision
from tests.conftest import app_client, bearer, make_key
from tests.review.queue_seed import LABELS, seed

N = 120


@pytest.fixture
def queue(settings: Settings) -> Iterator[tuple[TestClient, Store, list[ReviewItem]]]:
    store = open_store(settings.resolved_database_url)
    items = seed(store, N)
    with app_client(settings, families={}, role="reviewer") as client:
        yield client, store, items
    store.close()


def _get(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/v1/reviews", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _all_pages(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    items, cursor = [], None
    while True:
        body = _get(client, **params, **({"cursor": cursor} if cursor else {}))
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


FILTERED_FIELD = {"model": "model", "reason": "reason", "label": "predicted_label"}
"""The review item field each filter of GET /v1/reviews compares with its value."""


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("model", "digits"),
        ("model", "churn"),
        ("reason", "holdout"),
        ("reason", "adjudication"),
        ("label", "7"),
        ("label", "leaves"),
    ],
)
def test_each_filter_lists_exactly_its_items(
    queue: tuple[TestClient, Store, list[ReviewItem]], name: str, value: str
) -> None:
    client, _store, items = queue
    field = FILTERED_FIELD[name]
    expected = [i.id for i in items if getattr(i, field) == value]
    assert expected, "the seed covers every value tested"
    body = _get(client, **{name: value}, limit=500)
    assert [i["id"] for i in body["items"]] == expected  # oldest first
    assert body["total"] == len(expected) and body["next_cursor"] is None
    assert all(i[field] == value for i in body["items"])


def test_filters_combine_and_counts_are_per_filter(
    queue: tuple[TestClient, Store, list[ReviewItem]],
) -> None:
    client, _store, items = queue
    body = _get(client, model="digits", reason="low_confidence", limit=500)
    expected = [i for i in items if (i.model, i.reason) == ("digits", "low_confidence")]
    assert [i["id"] for i in body["items"]] == [i.id for i in expected]
    counts = body["counts"]
    # Each dimension is counted under the other filters: what choosing a value shows.
    assert counts["model"] == dict(Counter(i.model for i in items if i.reason == "low_confidence"))
    digit_reasons = Counter(i.reason for i in items if i.model == "digits")
    assert counts["reason"] == dict(sorted(digit_reasons.items()))
    assert counts["label"] == dict(sorted(Counter(i.predicted_label for i in expected).items()))
    assert sum(counts["label"].values()) == body["total"] == len(expected)


def test_age_filters(queue: tuple[TestClient, Store, list[ReviewItem]]) -> None:
    client, _store, items = queue
    now = datetime.now(UTC)
    old = [i.id for i in items if (now - i.created_at).total_seconds() > 9.5 * 86400]
    body = _get(client, older_than="228h", limit=500)  # 9.5 days
    assert [i["id"] for i in body["items"]] == old and body["total"] == len(old)
    assert body["total_capped"] is False
    young = _get(client, newer_than=f"{int(9.5 * 86400)}", limit=500)
    assert len(young["items"]) == N - len(old)
    refused = client.get("/v1/reviews", params={"older_than": "a week"})
    assert refused.status_code == 422 and "is not an age" in refused.text


@pytest.mark.parametrize("sort", ["oldest", "least_confident", "priority"])
def test_sorts_page_by_cursor_in_their_order(
    queue: tuple[TestClient, Store, list[ReviewItem]], sort: Any
) -> None:
    client, _store, items = queue
    expected = [i.id for i in sorted(items, key=lambda i: review_sort_key(i, sort))]
    seen = _all_pages(client, sort=sort, limit=7)
    assert [i["id"] for i in seen] == expected


def test_priority_puts_urgent_reasons_first_then_least_confident(
    queue: tuple[TestClient, Store, list[ReviewItem]],
) -> None:
    client, _store, _items = queue
    listed = _all_pages(client, sort="priority", limit=50)
    ranks = [(REVIEW_REASONS.index(i["reason"]), i["confidence"]) for i in listed]
    assert ranks == sorted(ranks)
    assert listed[0]["reason"] == "adjudication" and listed[-1]["reason"] == "low_confidence"


def test_unknown_filter_values_are_refused_with_the_valid_ones(
    queue: tuple[TestClient, Store, list[ReviewItem]],
) -> None:
    client, _store, _items = queue
    cases = {
        "model": ("nope", ["churn", "digits"]),
        "reason": ("bored", list(REVIEW_REASONS)),
        "label": ("8x", LABELS["digits"] + LABELS["churn"]),
    }
    for name, (value, valid) in cases.items():
        response = client.get("/v1/reviews", params={name: value})
        assert response.status_code == 422, (name, response.text)
        message = response.json()["error"]["message"]
        assert repr(value) in message and all(v in message for v in valid), message
    # A label of another model is not a valid label of this one.
    wrong = client.get("/v1/reviews", params={"model": "churn", "label": "7"})
    assert wrong.status_code == 422 and "leaves, stays" in wrong.text
    sort = client.get("/v1/reviews", params={"sort": "newest"})
    assert sort.status_code == 422 and "least_confident" in sort.text
    typo = client.get("/v1/reviews", params={"modle": "digits"})
    assert typo.status_code == 422 and "modle" in typo.text and "model" in typo.text


def test_a_malformed_or_foreign_cursor_is_a_clear_422(
    queue: tuple[TestClient, Store, list[ReviewItem]],
) -> None:
    client, _store, _items = queue
    forged = base64.urlsafe_b64encode(b'["oldest", 3]').decode()
    for cursor in ["garbage!!", "e30", forged]:
        response = client.get("/v1/reviews", params={"cursor": cursor})
        assert response.status_code == 422, cursor
        assert "is not a cursor from this queue" in response.json()["error"]["message"]
    cursor = _get(client, limit=2)["next_cursor"]
    other = client.get("/v1/reviews", params={"cursor": cursor, "sort": "priority"})
    assert other.status_code == 422 and "made for sort='oldest'" in other.text


def test_offset_still_pages_for_older_clients(
    queue: tuple[TestClient, Store, list[ReviewItem]],
) -> None:
    client, _store, items = queue
    body = _get(client, limit=5, offset=10)
    assert [i["id"] for i in body["items"]] == [i.id for i in items[10:15]]
    assert (body["offset"], body["limit"], body["total"]) == (10, 5, N)


@pytest.mark.parametrize("sort", ["oldest", "priority"])
def test_cursor_paging_sees_each_item_once_while_items_come_and_go(
    queue: tuple[TestClient, Store, list[ReviewItem]], sort: Any
) -> None:
    client, store, items = queue
    decided: set[str] = set()
    added: list[ReviewItem] = []
    seen: list[str] = []
    cursor = None
    for page in range(100):
        body = _get(client, sort=sort, limit=9, **({"cursor": cursor} if cursor else {}))
        seen += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
        # Meanwhile: new items arrive (some sort before the cursor, some after) and
        # reviewers decide items both already seen and not yet reached.
        added += seed(store, 3, seed=100 + page, start=N + 3 * page)
        for item in (items[page * 2], items[-1 - page]):
            if item.id not in decided:
                store.decide_review(
                    Decision(item.id, item.predicted_label, "ann", None, datetime.now(UTC))
                )
                decided.add(item.id)
    assert len(seen) == len(set(seen)), "no item is listed twice"
    stayed = {i.id for i in items} - decided
    assert stayed <= set(seen), "every item pending throughout is listed"
    assert not (set(seen) - {i.id for i in items + added})


def test_claims_take_only_the_aimed_items(
    queue: tuple[TestClient, Store, list[ReviewItem]],
) -> None:
    client, _store, items = queue
    key = make_key(client.app.state.services.settings, "reviewer", "ann")  # type: ignore[attr-defined]
    ann = TestClient(client.app, headers=bearer(key))
    aimed = [i for i in items if (i.model, i.reason) == ("digits", "holdout")]
    body = ann.post("/v1/reviews/claim", json={"count": 3, "model": "digits", "reason": "holdout"})
    assert body.status_code == 200, body.text
    assert [i["id"] for i in body.json()["items"]] == [i.id for i in aimed[:3]]
    # Renewing returns the same items; a claim aimed elsewhere leaves them held.
    again = ann.post("/v1/reviews/claim", json={"count": 3, "model": "digits", "reason": "holdout"})
    assert [i["id"] for i in again.json()["items"]] == [i.id for i in aimed[:3]]
    churn = ann.post("/v1/reviews/claim", json={"count": 2, "model": "churn", "sort": "priority"})
    taken = churn.json()["items"]
    # A reviewer is never handed an adjudication: those are an admin's.
    churned = [i for i in items if i.model == "churn" and i.reason != "adjudication"]
    urgent = sorted(churned, key=lambda i: review_sort_key(i, "priority"))
    assert [i["id"] for i in taken] == [i.id for i in urgent[:2]]
    held = _get(client, model="digits", reason="holdout", limit=3)["items"]
    assert [i["claimed_by"] for i in held] == ["ann"] * 3
    labelled = ann.post("/v1/reviews/claim", json={"count": 1, "label": "leaves"})
    assert all(i["predicted_label"] == "leaves" for i in labelled.json()["items"])
    refused = ann.post("/v1/reviews/claim", json={"count": 1, "reason": "bored"})
    assert refused.status_code == 422 and "low_confidence" in refused.text


def test_decisions_move_counts_from_pending_to_decided(
    queue: tuple[TestClient, Store, list[ReviewItem]],
) -> None:
    client, store, items = queue
    digits = [i for i in items if i.model == "digits"]
    decidable = [i for i in digits if i.reason != "adjudication"]  # a reviewer's to decide
    for item in decidable[:4]:
        url = f"/v1/reviews/{item.id}/decision"
        decided = client.post(url, json={"label": item.predicted_label})
        assert decided.status_code == 200, decided.text
    assert _get(client, model="digits", status="pending")["total"] == len(digits) - 4
    assert _get(client, model="digits", status="decided")["total"] == 4
    assert _get(client)["total"] == N
    assert store.count_reviews("pending") == N - 4 and store.count_reviews("decided") == 4
    counts = store.queue_counts()
    assert sum(p for p, _d in counts.values()) == N - 4
    assert counts[("digits", decidable[0].reason, decidable[0].predicted_label)][1] >= 1
