"""The predict response is serialised without a second validation pass; it must still be
exactly what the published PredictResponse schema would have produced."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tandem.api.schemas import PredictResponse
from tandem.settings import Settings
from tests.conftest import QUESTION
from tests.serving.test_fallback import _client as fake_client


def _same_as_schema(response_bytes: bytes) -> None:
    validated = PredictResponse.model_validate_json(response_bytes)
    assert validated.model_dump_json().encode() == response_bytes


def test_ml_editor_and_digits_responses_match_the_schema(digits_client: TestClient) -> None:
    ml = digits_client.post("/v1/predict", json={"model": "ml-editor", "input": QUESTION})
    digits = digits_client.post(
        "/v1/predict", json={"model": "digits", "input": {"pixels": [0] * 64}}
    )
    for response in (ml, digits):
        assert response.status_code == 200, response.text
        assert response.json()["review_id"]  # every prediction goes to review here
        _same_as_schema(response.content)


def test_fallback_response_matches_the_schema(settings: Settings) -> None:
    with fake_client(settings, "raise") as c:
        response = c.post("/v1/predict", json={"model": "fake", "input": {"text": "hi"}})
    assert response.json()["route"] == "fallback"
    _same_as_schema(response.content)
