from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import predict

HOSTILE = {"title": "Why <script>alert(1)</script>?", "body": "<img src=x onerror=alert(2)>"}


def test_queue_shows_text_prediction_alternatives_and_explanation(
    review_client: TestClient,
) -> None:
    p = predict(review_client)
    html = review_client.get("/review").text
    assert f'data-review-id="{p["review_id"]}"' in html
    assert "moving average in pandas" in html
    assert f"Accept “{p['label']}”" in html
    assert 'class="alternatives"' in html and 'class="explanation"' in html
    assert p["explanation"][0]["feature"] in html  # type: ignore[index]


def test_input_is_shown_as_text_not_markup(review_client: TestClient) -> None:
    predict(review_client, HOSTILE)
    html = review_client.get("/review").text
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert "<img src=x" not in html


def test_deciding_on_the_page_stores_the_same_record(review_client: TestClient) -> None:
    p = predict(review_client)
    response = review_client.post(
        f"/review/{p['review_id']}",
        data={"label": "poor", "reviewer": "mallory", "comment": "ok"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    item = review_client.get(f"/v1/reviews/{p['review_id']}").json()
    assert (item["status"], item["label"], item["reviewer"], item["comment"]) == (
        "decided",
        "poor",
        "test-reviewer",  # the logged-in key's name; a form field cannot choose it
        "ok",
    )
    page = review_client.get(response.headers["location"]).text
    assert "Decision saved" in page and f'data-review-id="{p["review_id"]}"' not in page


def test_page_refuses_second_decision_and_unknown_label(review_client: TestClient) -> None:
    p = predict(review_client)
    url = f"/review/{p['review_id']}"
    unknown = review_client.post(url, data={"label": "excellent"})
    assert unknown.status_code == 422 and "is not one of the model" in unknown.text
    review_client.post(url, data={"label": "good"})
    again = review_client.post(url, data={"label": "poor"})
    assert again.status_code == 409 and "already decided by &#39;test-reviewer&#39;" in again.text
    assert review_client.get(f"/v1/reviews/{p['review_id']}").json()["label"] == "good"
