"""/review aimed by model, reason, predicted label and sort, as GET /v1/reviews is:
the batch claimed on load is of the aimed items, the page counts them per filter, and
an unknown value is refused with the valid ones."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tandem.domain import ReviewItem, review_sort_key
from tandem.pages.review import PAGE_BATCH
from tandem.settings import Settings
from tandem.store import open_store
from tests.conftest import app_client
from tests.review.queue_seed import seed


def _shown(html: str) -> list[str]:
    return re.findall(r'data-review-id="([^"]+)"', html)


@pytest.fixture
def page(settings: Settings) -> Iterator[tuple[TestClient, list[ReviewItem]]]:
    store = open_store(settings.resolved_database_url)
    items = seed(store, 150)
    store.close()
    with app_client(settings, families={}, role="reviewer") as client:
        yield client, items


def test_the_page_claims_only_the_aimed_items(page: tuple[TestClient, list[ReviewItem]]) -> None:
    client, items = page
    aimed = [i.id for i in items if (i.model, i.reason) == ("digits", "holdout")]
    html = client.get("/review", params={"model": "digits", "reason": "holdout"}).text
    assert _shown(html) == aimed[:PAGE_BATCH]
    assert f'<span class="matching-count">{len(aimed)}</span> pending match' in html
    # Counts per value of each filter, under the others: labels of digits holdouts.
    labels = sorted({i.predicted_label for i in items if i.id in aimed})
    for label in labels:
        assert f'href="/review?model=digits&amp;reason=holdout&amp;label={label}"' in html


def test_the_page_sorts_by_priority(page: tuple[TestClient, list[ReviewItem]]) -> None:
    client, items = page
    # A reviewer is never handed an adjudication: those are an admin's.
    churned = [i for i in items if i.model == "churn" and i.reason != "adjudication"]
    churn = sorted(churned, key=lambda i: review_sort_key(i, "priority"))
    html = client.get("/review?model=churn&sort=priority").text
    assert _shown(html) == [i.id for i in churn[:PAGE_BATCH]]


def test_a_decision_keeps_the_page_aimed(page: tuple[TestClient, list[ReviewItem]]) -> None:
    client, items = page
    html = client.get("/review?model=churn&reason=fallback").text
    first = _shown(html)[0]
    label = next(i.predicted_label for i in items if i.id == first)
    assert 'name="back" value="?model=churn&amp;reason=fallback"' in html
    done = client.post(
        f"/review/{first}",
        data={"label": label, "back": "?model=churn&reason=fallback&next=https://evil.example"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/review?decided={first}&model=churn&reason=fallback"


def test_unknown_values_are_refused_with_the_valid_ones(
    page: tuple[TestClient, list[ReviewItem]],
) -> None:
    client, _items = page
    response = client.get("/review?model=digitz")
    assert response.status_code == 422
    assert "digitz" in response.text and "churn, digits" in response.text
    response = client.get("/review?reason=boredom")
    assert response.status_code == 422 and "second_opinion" in response.text
