from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import ANSWER_ONLY, QUESTION, app_client, as_logged, predict


def test_prediction_has_every_promised_field(client: TestClient) -> None:
    body = predict(client)
    assert body["model"] == "ml-editor" and len(str(body["model_version"])) == 12
    assert body["label"] in ("good", "poor")
    alternatives = body["alternatives"]
    assert [a["label"] for a in alternatives][0] == body["label"]  # type: ignore[index]
    assert (
        sum(a["probability"] for a in alternatives) == 1.0
        or abs(  # type: ignore[union-attr]
            sum(a["probability"] for a in alternatives) - 1.0
        )
        < 1e-5
    )  # type: ignore[union-attr]
    assert 0.5 <= body["confidence"] <= 1.0  # type: ignore[operator]
    explanation = body["explanation"]
    assert {"feature", "value", "contribution"} <= set(explanation[0])  # type: ignore[index]
    sizes = [abs(e["contribution"]) for e in explanation]  # type: ignore[union-attr]
    assert sizes == sorted(sizes, reverse=True)
    assert isinstance(body["suggestions"], list)
    assert body["route"] in ("model", "review") and body["latency_ms"] > 0  # type: ignore[operator]


def test_logged_record_is_returned_exactly(client: TestClient) -> None:
    body = predict(client)
    stored = client.get(f"/v1/predictions/{body['id']}").json()
    assert as_logged(stored) == {k: v for k, v in body.items() if k not in ANSWER_ONLY}
    assert stored["input"] == QUESTION and stored["features"]["code_blocks"] == 1.0


def test_confident_prediction_skips_review(trained_home, ml_editor_artifact) -> None:  # type: ignore[no-untyped-def]

    settings = trained_home.model_copy(update={"review_threshold": 0.0})
    with app_client(settings) as c:
        body = predict(c)
        assert body["route"] == "model" and body["review_id"] is None
        assert c.get("/v1/reviews?status=pending").json()["total"] == 0


def test_healthz_names_the_served_version(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert set(response.json()["models"]) == {"ml-editor"}


def test_healthz_is_503_without_a_model(settings) -> None:  # type: ignore[no-untyped-def]

    with app_client(settings) as c:
        assert c.get("/healthz").status_code == 503


def test_openapi_describes_the_api(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/v1/predict",
        "/v1/predictions/{prediction_id}",
        "/v1/reviews",
        "/v1/reviews/{review_id}/decision",
        "/v1/predictions/{prediction_id}/feedback",
    } <= set(paths)
