"""Drift of real traffic through the API, for every example model: traffic drawn from the
training distribution is not flagged, the same traffic with one feature's unit changed is
flagged for that feature alone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sklearn.model_selection import train_test_split

from tandem.store.base import PredictionFilter
from tandem_examples.digits.train import load_dataset as load_digits
from tandem_examples.digits.train import split as digits_split
from tandem_examples.ml_editor.data import load_dataset as load_questions

MODELS = ["ml-editor", "digits"]
LIVE_ROWS = 300
# The feature each model's unit change hits: question marks counted x1000 (each "?" sent
# as a run of 1000, which adds no word and no sentence), and one dense pixel.
TARGET = {"ml-editor": "question_marks_in_body", "digits": "px_r3_c3"}


def held_out(model: str, data_dir: Path) -> list[dict[str, Any]]:
    """Inputs of the examples' own test split: the training distribution, unseen by the
    model (the reference is drawn from the training split)."""
    if model == "digits":
        X, y, _ = load_digits()
        _, test = digits_split(y)
        return [{"pixels": [int(v) for v in X[i]]} for i in test]
    questions, _ = load_questions(data_dir)
    y = np.array([q.label == "good" for q in questions], dtype=int)
    _, test = train_test_split(np.arange(len(y)), test_size=0.2, stratify=y, random_state=42)
    return [{"title": questions[i].title, "body": questions[i].body} for i in test]


def unit_change(model: str, data: dict[str, Any]) -> dict[str, Any] | None:
    """The same input with the target feature in other units (None: cannot carry it)."""
    if model == "digits":
        pixels = list(data["pixels"])
        pixels[3 * 8 + 3] //= 16  # one pixel on a 0-1 scale: x1000 does not pass the schema
        return {"pixels": pixels}
    body = data["body"].replace("?", "?" * 1000)
    return {"title": data["title"], "body": body} if len(body) <= 50_000 else None


def send(client: TestClient, model: str, inputs: list[dict[str, Any]]) -> None:
    for data in inputs:
        response = client.post("/v1/predict", json={"model": model, "input": data})
        assert response.status_code == 200, response.text


def drift(client: TestClient, model: str, **params: str) -> dict[str, Any]:
    response = client.get("/v1/monitor/drift", params={"model": model, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("model", MODELS)
def test_unit_change_is_flagged_and_unchanged_traffic_is_not(
    digits_client: TestClient, model: str, data_dir: Path
) -> None:
    inputs = held_out(model, data_dir)[:LIVE_ROWS]
    send(digits_client, model, inputs)
    middle = datetime.now(UTC).isoformat()
    changed = [c for c in (unit_change(model, x) for x in inputs) if c is not None]
    send(digits_client, model, changed)

    same = drift(digits_client, model, until=middle)
    assert same["enough_data"] and same["live_rows"] == len(inputs)
    assert same["drifted_features"] == [] and not same["drifted"], same["message"]
    assert all(f["drifted"] is False for f in same["features"])
    assert same["predictions"]["drifted"] is False and same["confidence"]["drifted"] is False

    shifted = drift(digits_client, model, since=middle)
    assert shifted["live_rows"] == len(changed) and shifted["drifted"]
    assert shifted["drifted_features"] == [TARGET[model]], shifted["message"]
    first = shifted["features"][0]  # drifted features come first
    assert first["name"] == TARGET[model] and first["psi"] > 1.0


def test_a_unit_change_the_schema_forbids_never_reaches_the_log(digits_client: TestClient) -> None:
    store = digits_client.app.state.store  # type: ignore[attr-defined]
    pixels = [0] * 64
    pixels[27] = 12 * 1000
    response = digits_client.post(
        "/v1/predict", json={"model": "digits", "input": {"pixels": pixels}}
    )
    assert response.status_code == 422 and "pixel 27" in response.json()["error"]["message"]
    assert store.count_predictions("digits") == 0


def test_question_marks_scale_exactly(digits_client: TestClient, data_dir: Path) -> None:
    data = next(x for x in held_out("ml-editor", data_dir) if "?" in x["body"])
    changed = unit_change("ml-editor", data)
    assert changed is not None
    store = digits_client.app.state.store  # type: ignore[attr-defined]
    send(digits_client, "ml-editor", [data, changed])
    before, after = (
        p.features for p in store.list_predictions(PredictionFilter(model="ml-editor"))
    )
    assert after["question_marks_in_body"] == 1000 * before["question_marks_in_body"]
    assert {k: v for k, v in after.items() if k != "question_marks_in_body"} == {
        k: v for k, v in before.items() if k != "question_marks_in_body"
    }
