"""/review with claims: each logged-in reviewer is shown their own batch, claimed on
page load; nobody is shown an item another reviewer holds."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tandem.pages.review import PAGE_BATCH
from tandem.settings import Settings
from tests.conftest import bearer, make_key, predict


def _shown(html: str) -> list[str]:
    return re.findall(r'data-review-id="([^"]+)"', html)


def _as(client: TestClient, settings: Settings, reviewer: str) -> TestClient:
    """Another reviewer on the same app, with a key of their own."""
    return TestClient(client.app, headers=bearer(make_key(settings, "reviewer", reviewer)))


def test_each_reviewer_sees_only_their_own_batch(
    review_client: TestClient, trained_home: Settings
) -> None:
    made = [predict(review_client)["review_id"] for _ in range(PAGE_BATCH + 3)]
    ann = _as(review_client, trained_home, "ann")
    ann_page = ann.get("/review").text
    assert _shown(ann_page) == made[:PAGE_BATCH]
    assert "Reviewing as <strong" in ann_page and "yours until" in ann_page
    assert _shown(_as(review_client, trained_home, "bob").get("/review").text) == made[PAGE_BATCH:]
    assert _shown(_as(review_client, trained_home, "cy").get("/review").text) == []
    assert _shown(ann.get("/review").text) == made[:PAGE_BATCH]  # renewed, the same batch


def test_stop_releases_the_batch(review_client: TestClient, trained_home: Settings) -> None:
    made = [predict(review_client)["review_id"] for _ in range(2)]
    ann = _as(review_client, trained_home, "ann")
    assert _shown(ann.get("/review").text) == made
    assert review_client.get(f"/v1/reviews/{made[0]}").json()["claimed_by"] == "ann"
    stopped = ann.post("/review/stop", data={"item": made}, follow_redirects=False)
    assert stopped.status_code == 303
    after = ann.get(stopped.headers["location"]).text
    assert _shown(after) == [] and "You handed your items back" in after
    assert review_client.get(f"/v1/reviews/{made[0]}").json()["claimed_by"] is None
    assert _shown(_as(review_client, trained_home, "bob").get("/review").text) == made


def test_page_refuses_an_item_held_by_another_reviewer(
    review_client: TestClient, trained_home: Settings
) -> None:
    review_id = predict(review_client)["review_id"]
    ann = _as(review_client, trained_home, "ann")
    ann.get("/review")
    bob = _as(review_client, trained_home, "bob")
    refused = bob.post(f"/review/{review_id}", data={"label": "good"})
    assert refused.status_code == 409 and "claimed by &#39;ann&#39;" in refused.text
    ok = ann.post(f"/review/{review_id}", data={"label": "good"}, follow_redirects=False)
    assert ok.status_code == 303
    assert review_client.get(f"/v1/reviews/{review_id}").json()["reviewer"] == "ann"
