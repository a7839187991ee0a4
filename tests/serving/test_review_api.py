from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import predict


def test_low_confidence_goes_to_the_queue(review_client: TestClient) -> None:
    body = predict(review_client)
    assert body["route"] == "review" and body["review_id"]
    page = review_client.get("/v1/reviews", params={"status": "pending"}).json()
    assert page["total"] == 1
    [item] = page["items"]
    assert item["id"] == body["review_id"] and item["reason"] == "low_confidence"
    assert item["prediction"]["id"] == body["id"]
    assert item["prediction"]["explanation"] == body["explanation"]


def test_decision_is_stored_once(review_client: TestClient) -> None:
    body = predict(review_client)
    url = f"/v1/reviews/{body['review_id']}/decision"
    first = review_client.post(url, json={"label": "poor", "comment": "vague"})
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "decided" and first.json()["reviewer"] == "test-reviewer"
    second = review_client.post(url, json={"label": "good"})
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "conflict"
    item = review_client.get(f"/v1/reviews/{body['review_id']}").json()
    assert (item["label"], item["reviewer"], item["comment"]) == ("poor", "test-reviewer", "vague")
    assert review_client.get("/v1/reviews?status=pending").json()["total"] == 0
    assert review_client.get("/v1/reviews?status=decided").json()["total"] == 1


def test_decision_becomes_a_label(review_client: TestClient) -> None:
    body = predict(review_client)
    review_client.post(f"/v1/reviews/{body['review_id']}/decision", json={"label": "good"})
    store = review_client.app.state.store  # type: ignore[attr-defined]
    [label] = store.list_labels(str(body["id"]))
    assert (label.label, label.source, label.author) == ("good", "review", "test-reviewer")


def test_feedback_kinds_are_stored_with_labels(client: TestClient) -> None:
    body = predict(client)
    url = f"/v1/predictions/{body['id']}/feedback"
    other = "good" if body["label"] == "poor" else "poor"
    ok = client.post(url, json={"kind": "correct"})
    wrong = client.post(url, json={"kind": "incorrect", "label": other, "comment": "x"})
    bug = client.post(url, json={"kind": "bug", "comment": "explanation shows a NaN"})
    assert [r.status_code for r in (ok, wrong, bug)] == [201, 201, 201]
    assert ok.json()["stored_label"]["label"] == body["label"]
    assert wrong.json()["stored_label"]["label"] == other
    assert bug.json()["stored_label"] is None
    listed = client.get(url).json()
    assert [f["kind"] for f in listed] == ["correct", "incorrect", "bug"]
