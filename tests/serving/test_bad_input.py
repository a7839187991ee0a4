"""Bad input gets a 4xx that says what to fix, and changes nothing stored."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import QUESTION, predict


def _counts(client: TestClient) -> tuple[int, ...]:
    store = client.app.state.store  # type: ignore[attr-defined]
    return (
        store.count_predictions(),
        store.count_reviews(),
        store.count_reviews("pending"),
        len(store.list_labels()),
    )


def _post(client: TestClient, url: str, **kwargs: Any) -> Any:
    before = _counts(client)
    response = client.post(url, **kwargs)
    assert 400 <= response.status_code < 500, response.text
    assert _counts(client) == before
    error = response.json()["error"]
    assert error["code"] and error["message"]
    return response


@pytest.mark.parametrize(
    ("payload", "status", "says"),
    [
        ({"model": "ml-editor", "input": {"title": "t"}}, 422, "input.body: Field required"),
        ({"model": "ml-editor", "input": {"title": "", "body": "b"}}, 422, "input.title"),
        ({"model": "ml-editor", "input": {"title": "   ", "body": "b"}}, 422, "input.title"),
        ({"model": "ml-editor", "input": {"title": 5, "body": "b"}}, 422, "valid string"),
        ({"model": "ml-editor", "input": {**QUESTION, "extra": 1}}, 422, "input.extra"),
        ({"model": "ml-editor", "input": "text"}, 422, "input: Input should be a valid dict"),
        ({"input": QUESTION}, 422, "model: Field required"),
        ({"model": "spam-filter", "input": QUESTION}, 404, "served models: ml-editor"),
        ([1, 2], 422, "valid dictionary"),
    ],
)
def test_bad_predict_payloads(client: TestClient, payload: Any, status: int, says: str) -> None:
    response = _post(client, "/v1/predict", json=payload)
    assert response.status_code == status
    assert says in response.json()["error"]["message"]


def test_one_megabyte_body_is_413(client: TestClient) -> None:
    huge = {"model": "ml-editor", "input": {"title": "t", "body": "x" * 1_000_000}}
    response = _post(client, "/v1/predict", json=huge)
    assert response.status_code == 413 and "TANDEM_MAX_BODY_BYTES" in response.text


def test_chunked_oversized_body_is_413(client: TestClient) -> None:
    def chunks() -> Any:
        for _ in range(40):
            yield b"x" * 10_000

    response = _post(
        client, "/v1/predict", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_non_utf8_body_is_rejected(client: TestClient) -> None:
    raw = '{"model": "ml-editor", "input": {"title": "caf\xe9", "body": "b"}}'.encode("latin-1")
    response = _post(
        client, "/v1/predict", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert "UTF-8" in response.json()["error"]["message"] or "JSON" in response.text


def test_broken_json_is_422(client: TestClient) -> None:
    response = _post(
        client, "/v1/predict", content=b'{"model": ', headers={"content-type": "application/json"}
    )
    assert "not valid JSON" in response.json()["error"]["message"]


def test_unknown_prediction_is_404(client: TestClient) -> None:
    response = client.get("/v1/predictions/does-not-exist")
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "not_found",
        "message": "no prediction with id 'does-not-exist'",
    }
    assert (
        _post(client, "/v1/predictions/nope/feedback", json={"kind": "correct"}).status_code == 404
    )


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"label": "excellent"}, "not one of the model's labels"),
        ({"comment": "no label"}, "label: Field required"),
        ({"label": ""}, "label"),
        ({"label": "good", "status": "x"}, "status"),
    ],
)
def test_bad_decisions(review_client: TestClient, body: dict[str, str], says: str) -> None:
    review_id = predict(review_client)["review_id"]
    response = _post(review_client, f"/v1/reviews/{review_id}/decision", json=body)
    assert says in response.json()["error"]["message"]
    assert review_client.get(f"/v1/reviews/{review_id}").json()["status"] == "pending"


def test_unknown_review_is_404(client: TestClient) -> None:
    response = _post(client, "/v1/reviews/nope/decision", json={"label": "good"})
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"kind": "great"}, "kind"),
        ({"kind": "bug"}, "needs a comment"),
        ({"kind": "incorrect", "label": "meh"}, "not one of the model's labels"),
        ({"kind": "correct", "label": 3}, "label"),
    ],
)
def test_bad_feedback(client: TestClient, body: dict[str, Any], says: str) -> None:
    pid = predict(client)["id"]
    response = _post(client, f"/v1/predictions/{pid}/feedback", json=body)
    assert says in response.json()["error"]["message"]


@pytest.mark.parametrize("query", ["status=done", "limit=0", "limit=x", "offset=-1"])
def test_bad_queue_queries(client: TestClient, query: str) -> None:
    response = client.get(f"/v1/reviews?{query}")
    assert response.status_code == 422 and response.json()["error"]["message"]


def test_unknown_route_is_json_404(client: TestClient) -> None:
    response = client.get("/v1/nothing-here")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_wrong_content_type_says_to_send_json(client: TestClient) -> None:
    response = _post(
        client,
        "/v1/predict",
        content=b'{"model": "ml-editor"}',
        headers={"content-type": "text/plain"},
    )
    assert "Content-Type: application/json" in response.json()["error"]["message"]
