"""Claims over the JSON API: who holds what, for how long, and what a decision on a
held item answers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tandem.clock import utcnow
from tandem.review import claims
from tandem.settings import Settings
from tests.conftest import app_client, bearer, make_key, predict

_KEYS: dict[tuple[int, str], TestClient] = {}


def _as(client: TestClient, reviewer: str) -> TestClient:
    """The same app as `reviewer`: identity comes from the key, so each has their own."""
    if (id(client), reviewer) not in _KEYS:
        settings = client.app.state.services.settings  # type: ignore[attr-defined]
        key = make_key(settings, "reviewer", reviewer)
        _KEYS[(id(client), reviewer)] = TestClient(client.app, headers=bearer(key))
    return _KEYS[(id(client), reviewer)]


def _claim(client: TestClient, reviewer: str, count: int = 1) -> dict[str, Any]:
    response = _as(client, reviewer).post("/v1/reviews/claim", json={"count": count})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _decide(client: TestClient, review_id: str, reviewer: str) -> Any:
    return _as(client, reviewer).post(f"/v1/reviews/{review_id}/decision", json={"label": "good"})


def test_claim_returns_the_oldest_items_with_their_predictions(review_client: TestClient) -> None:
    made = [predict(review_client) for _ in range(3)]
    before = datetime.now(UTC)
    body = _claim(review_client, "ann", 2)
    assert body["reviewer"] == "ann"
    assert [i["id"] for i in body["items"]] == [p["review_id"] for p in made[:2]]
    expires = datetime.fromisoformat(body["expires_at"])
    assert before + timedelta(seconds=590) < expires < before + timedelta(seconds=610)
    first = body["items"][0]
    assert (first["claimed_by"], first["claim_expires_at"]) == ("ann", body["expires_at"])
    assert first["prediction"]["id"] == made[0]["id"]
    listed = review_client.get(f"/v1/reviews/{made[0]['review_id']}").json()
    assert listed["claimed_by"] == "ann"
    assert [i["id"] for i in _claim(review_client, "bob", 5)["items"]] == [made[2]["review_id"]]
    assert _claim(review_client, "cy", 5)["items"] == []


def test_deciding_someone_elses_item_says_who_holds_it_until_when(
    review_client: TestClient,
) -> None:
    review_id = predict(review_client)["review_id"]
    until = _claim(review_client, "ann")["expires_at"]
    refused = _decide(review_client, review_id, "bob")
    assert refused.status_code == 409
    message = refused.json()["error"]["message"]
    assert "claimed by 'ann' until" in message and until[:19] in message
    assert review_client.get(f"/v1/reviews/{review_id}").json()["status"] == "pending"
    decided = _decide(review_client, review_id, "ann")
    assert decided.status_code == 200 and decided.json()["claimed_by"] is None


def test_release_lets_another_reviewer_take_the_item(review_client: TestClient) -> None:
    review_id = predict(review_client)["review_id"]
    _claim(review_client, "ann")
    url = f"/v1/reviews/{review_id}/release"
    assert _as(review_client, "bob").post(url).status_code == 409
    released = _as(review_client, "ann").post(url)
    assert released.status_code == 200 and released.json()["claimed_by"] is None
    assert [i["id"] for i in _claim(review_client, "bob")["items"]] == [review_id]
    assert _as(review_client, "ann").post("/v1/reviews/nope/release").status_code == 404


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"reviewer": "ann", "count": 0}, "count"),
        ({"reviewer": "ann", "count": 101}, "count"),
        ({"count": "many"}, "count"),
        ({"reviewer": "ann", "until": "forever"}, "until"),
    ],
)
def test_bad_claims_are_422(review_client: TestClient, body: dict[str, Any], says: str) -> None:
    predict(review_client)
    response = review_client.post("/v1/reviews/claim", json=body)
    assert response.status_code == 422 and says in response.json()["error"]["message"]
    assert review_client.get("/v1/reviews").json()["items"][0]["claimed_by"] is None


CLAIM_TTL_S = 30.0


@pytest.fixture
def short_claims(trained_home: Settings) -> Iterator[TestClient]:
    """Claims that lapse after CLAIM_TTL_S (TANDEM_CLAIM_TTL_S)."""
    settings = trained_home.model_copy(update={"review_threshold": 1.0, "claim_ttl_s": CLAIM_TTL_S})
    with app_client(settings, role="reviewer") as client:
        yield client


def test_an_expired_claim_can_be_taken_by_another_reviewer(
    short_claims: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bob claims once ann's claim has expired: the claim's clock is moved past its
    time to live, not waited for (a pause of the machine must not expire it early)."""
    review_id = predict(short_claims)["review_id"]
    assert [i["id"] for i in _claim(short_claims, "ann")["items"]] == [review_id]
    assert _claim(short_claims, "bob")["items"] == []
    later = utcnow() + timedelta(seconds=CLAIM_TTL_S + 1)
    monkeypatch.setattr(claims, "utcnow", lambda: later)
    assert [i["id"] for i in _claim(short_claims, "bob")["items"]] == [review_id]
    assert _decide(short_claims, review_id, "ann").status_code == 409
    assert _decide(short_claims, review_id, "bob").status_code == 200
