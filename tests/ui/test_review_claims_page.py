"""/review with claims: a known reviewer is shown their own batch, claimed on page
load; nobody is shown an item another reviewer holds."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tandem.ui.pages import PAGE_BATCH, REVIEWER_COOKIE
from tests.conftest import predict


def _shown(html: str) -> list[str]:
    return re.findall(r'data-review-id="([^"]+)"', html)


def _as(client: TestClient, reviewer: str | None) -> TestClient:
    """Another browser on the same app (its own cookies)."""
    other = TestClient(client.app)
    if reviewer:
        other.cookies.set(REVIEWER_COOKIE, reviewer)
    return other


def test_each_reviewer_sees_only_their_own_batch(review_client: TestClient) -> None:
    made = [predict(review_client)["review_id"] for _ in range(PAGE_BATCH + 3)]
    ann_page = _as(review_client, "ann").get("/review").text
    assert _shown(ann_page) == made[:PAGE_BATCH]
    assert "Reviewing as <strong" in ann_page and "yours until" in ann_page
    assert _shown(_as(review_client, "bob").get("/review").text) == made[PAGE_BATCH:]
    assert _shown(_as(review_client, None).get("/review").text) == []
    assert _shown(_as(review_client, "ann").get("/review").text) == made[:PAGE_BATCH]


def test_start_claims_and_stop_releases(review_client: TestClient) -> None:
    made = [predict(review_client)["review_id"] for _ in range(2)]
    browser = _as(review_client, None)
    assert _shown(browser.get("/review").text) == made  # free items, not claimed
    assert review_client.get(f"/v1/reviews/{made[0]}").json()["claimed_by"] is None
    started = browser.post("/review/start", data={"reviewer": "ann"}, follow_redirects=False)
    assert started.status_code == 303
    assert _shown(browser.get("/review").text) == made
    assert review_client.get(f"/v1/reviews/{made[0]}").json()["claimed_by"] == "ann"
    assert _shown(_as(review_client, None).get("/review").text) == []
    browser.post("/review/stop", data={"item": made}, follow_redirects=False)
    assert review_client.get(f"/v1/reviews/{made[0]}").json()["claimed_by"] is None
    assert REVIEWER_COOKIE not in browser.cookies
    assert _shown(_as(review_client, "bob").get("/review").text) == made


def test_page_refuses_an_item_held_by_another_reviewer(review_client: TestClient) -> None:
    review_id = predict(review_client)["review_id"]
    _as(review_client, "ann").get("/review")
    refused = review_client.post(f"/review/{review_id}", data={"label": "good", "reviewer": "bob"})
    assert refused.status_code == 409 and "claimed by &#39;ann&#39;" in refused.text
    ok = _as(review_client, "ann").post(
        f"/review/{review_id}", data={"label": "good", "reviewer": "ann"}, follow_redirects=False
    )
    assert ok.status_code == 303
