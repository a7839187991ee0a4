"""POST /v1/reviews/{id}/undo: a reviewer takes back their own decision within 60 s;
the item is theirs to decide again and its label is withdrawn. Later, someone else's
decision, or an item not decided: 409 saying why."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tandem.clock import utcnow
from tandem.review import service
from tests.conftest import predict
from tests.review.test_claims_api import _as


def _decide(client: TestClient, review_id: str, who: str, label: str = "good") -> None:
    response = _as(client, who).post(f"/v1/reviews/{review_id}/decision", json={"label": label})
    assert response.status_code == 200, response.text


def test_undo_within_60_s_puts_the_item_back(review_client: TestClient) -> None:
    made = predict(review_client)
    rid, pid = made["review_id"], made["id"]
    _decide(review_client, rid, "ann")
    assert review_client.get(f"/v1/predictions/{pid}").json()["final_label"]["label"] == "good"
    response = _as(review_client, "ann").post(f"/v1/reviews/{rid}/undo")
    assert response.status_code == 200, response.text
    body = response.json()
    put_back = {"status": "pending", "label": None, "reviewer": None, "claimed_by": "ann"}
    assert {key: body[key] for key in put_back} == put_back
    assert review_client.get(f"/v1/predictions/{pid}").json()["final_label"] is None
    pending = review_client.get("/v1/reviews", params={"status": "pending"}).json()
    assert [i["id"] for i in pending["items"]] == [rid] and pending["total"] == 1
    # Held by ann: bob is told so; ann decides it anew.
    assert (
        _as(review_client, "bob")
        .post(f"/v1/reviews/{rid}/decision", json={"label": "good"})
        .status_code
        == 409
    )
    _decide(review_client, rid, "ann", "poor")
    assert review_client.get(f"/v1/predictions/{pid}").json()["final_label"]["label"] == "poor"


def test_undo_after_60_s_is_refused(
    review_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    rid = predict(review_client)["review_id"]
    _decide(review_client, rid, "ann")
    later = utcnow() + timedelta(seconds=service.UNDO_S + 1)
    monkeypatch.setattr(service, "utcnow", lambda: later)
    response = _as(review_client, "ann").post(f"/v1/reviews/{rid}/undo")
    assert response.status_code == 409
    assert "only within 60 s" in response.json()["error"]["message"]
    assert review_client.get(f"/v1/reviews/{rid}").json()["status"] == "decided"


def test_undo_of_someone_elses_decision_is_refused(review_client: TestClient) -> None:
    rid = predict(review_client)["review_id"]
    _decide(review_client, rid, "ann")
    response = _as(review_client, "bob").post(f"/v1/reviews/{rid}/undo")
    assert response.status_code == 409
    assert "decided by 'ann', not 'bob'" in response.json()["error"]["message"]
    stored = review_client.get(f"/v1/reviews/{rid}").json()
    assert (stored["status"], stored["reviewer"], stored["label"]) == ("decided", "ann", "good")


def test_undo_of_an_undecided_or_unknown_item(review_client: TestClient) -> None:
    rid = predict(review_client)["review_id"]
    response = _as(review_client, "ann").post(f"/v1/reviews/{rid}/undo")
    assert response.status_code == 409 and "not decided" in response.json()["error"]["message"]
    assert _as(review_client, "ann").post("/v1/reviews/nope/undo").status_code == 404
