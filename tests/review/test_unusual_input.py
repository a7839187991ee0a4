"""What needs a person: an input outside the version's training ranges goes to review
(reason `unusual_input`) whatever the model's confidence, and so does a fallback answer
below the review threshold (reason `fallback`)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from fastapi.testclient import TestClient
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tandem.models.artifacts import ArtifactStore
from tandem.models.reference_sample import ReferenceSample
from tandem.models.sklearn_adapter import package
from tandem.predict.unusual import FeatureRanges
from tandem.registry.versions import register
from tandem.settings import Settings
from tandem.store import open_store
from tests.conftest import QUESTION, app_client, predict
from tests.fakes import SlowClassifier

WINE = load_wine()
NAMES = [n.replace("/", "_") for n in WINE.feature_names]
LABELS = WINE.target_names[WINE.target]


def _rows() -> list[dict[str, float]]:
    return [dict(zip(NAMES, row.tolist(), strict=True)) for row in WINE.data]


def _add_wine(settings: Settings, tmp_path: Path, reference: bool = True, **slow: Any) -> None:
    """The wine classifier as `tandem models add` packages it, its training rows (with
    labels) as the reference; `slow`: wrapped in SlowClassifier to make it fail."""
    model: Any = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(WINE.data, LABELS)
    if slow:
        model = SlowClassifier(model, **slow)
    joblib.dump(model, tmp_path / "wine.joblib")
    (tmp_path / "schema.json").write_text(json.dumps({"features": dict.fromkeys(NAMES, "number")}))
    with (tmp_path / "wine.csv").open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow([*NAMES, "label"])
        for row, label in zip(WINE.data, LABELS, strict=True):
            out.writerow([*row.tolist(), label])
    rows = tmp_path / "wine.csv" if reference else None
    trained = package(tmp_path / "wine.joblib", tmp_path / "schema.json", rows, None)
    store = open_store(settings.resolved_database_url)
    try:
        register(store, ArtifactStore(settings.artifacts_dir), "wine", trained, {}, True)
    finally:
        store.close()


def _wine(client: TestClient, row: dict[str, float]) -> dict[str, Any]:
    response = client.post("/v1/predict", json={"model": "wine", "input": row})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _reasons(client: TestClient) -> dict[str, str]:
    """Review reason per prediction id."""
    items = client.get("/v1/reviews", params={"limit": 500}).json()["items"]
    return {item["prediction_id"]: item["reason"] for item in items}


def _metric(text: str, name: str, model: str) -> float:
    prefix = f'{name}{{model="{model}"}} '
    values = [float(line[len(prefix) :]) for line in text.splitlines() if line.startswith(prefix)]
    assert len(values) == 1, text
    return values[0]


def test_wine_with_ten_times_the_alcohol_goes_to_a_person(
    settings: Settings, tmp_path: Path
) -> None:
    _add_wine(settings, tmp_path)
    with app_client(settings) as client:
        normal = [_wine(client, row) for row in _rows()]
        absurd = {**_rows()[0], "alcohol": _rows()[0]["alcohol"] * 10}
        body = _wine(client, absurd)
        reasons = _reasons(client)
        metrics = client.get("/metrics").text
    # The model is sure of itself, and wrong to be: no wine has 142 % alcohol.
    assert body["confidence"] > 0.99
    assert body["route"] == "review" and body["unusual_features"] == ["alcohol"]
    assert reasons[body["id"]] == "unusual_input"
    # Every training row is inside its own ranges: none goes to review for that.
    assert all(b["unusual_features"] == [] for b in normal)
    assert not any(reasons.get(b["id"]) == "unusual_input" for b in normal)
    assert _metric(metrics, "tandem_unusual_inputs_total", "wine") == 1
    assert 'tandem_predictions_total{model="wine",route="review"}' in metrics


def test_a_version_without_a_reference_is_not_checked(settings: Settings, tmp_path: Path) -> None:
    _add_wine(settings, tmp_path, reference=False)
    with app_client(settings) as client:
        body = _wine(client, {**_rows()[0], "alcohol": 142.3})
        metrics = client.get("/metrics").text
    assert body["unusual_features"] == [] and body["route"] == "model"
    assert _metric(metrics, "tandem_unusual_inputs_total", "wine") == 0


PHRASES = (
    "word ",
    "How do I fix this? ",
    "pandas ",
    "thanks ",
    "a. ",
    "Please help me with my code. ",
    "error ",
    "<p>text</p>\n\n",
    "the quick brown fox jumps ",
    "I ",
    "code\n\n",
    "why? ",
)


def test_long_repeated_bodies_go_to_a_person(trained_home: Settings) -> None:
    """120 bodies of one phrase repeated to 5,000-50,000 characters: before, the ML
    Editor answered most of them on its own (many "good"). The budget is generous: this
    is about routing, and a loaded machine must not turn answers into fallbacks."""
    with app_client(trained_home.model_copy(update={"latency_budget_ms": 10_000})) as client:
        _long_bodies_go_to_a_person(client)


def _long_bodies_go_to_a_person(client: TestClient) -> None:
    bodies = [p * (n // len(p)) for p in PHRASES for n in range(5000, 50001, 5000)]
    answers = [predict(client, {"title": QUESTION["title"], "body": b}) for b in bodies]
    reasons = _reasons(client)
    assert len(answers) == 120
    assert all(a["route"] == "review" and a["unusual_features"] for a in answers)
    assert all(reasons[str(a["id"])] == "unusual_input" for a in answers)
    word = predict(client, {"title": QUESTION["title"], "body": "word " * 8000})
    assert "body_words" in word["unusual_features"]  # type: ignore[operator]
    assert _metric(client.get("/metrics").text, "tandem_unusual_inputs_total", "ml-editor") == 121


def test_an_ordinary_question_is_not_unusual(client: TestClient) -> None:
    body = predict(client)
    assert body["unusual_features"] == []
    assert _reasons(client).get(str(body["id"])) != "unusual_input"


def test_a_fallback_answer_below_the_threshold_goes_to_review(
    settings: Settings, tmp_path: Path
) -> None:
    """The model fails on alcohol above 14.9 (above every training row, inside the
    range's margin); the fallback answers with the reference's majority share (71 of
    178, below the 0.6 threshold)."""
    _add_wine(settings, tmp_path, delay_s=0.0, fails_above=14.9)
    with app_client(settings) as client:
        failed = _wine(client, {**_rows()[0], "alcohol": 15.0})
        answered = _wine(client, _rows()[0])
        reasons = _reasons(client)
    assert (failed["route"], failed["fallback_reason"]) == ("fallback", "error: ValueError")
    assert failed["unusual_features"] == [] and failed["confidence"] < 0.6
    assert failed["review_id"] is not None and reasons[failed["id"]] == "fallback"
    assert answered["route"] == "model" and answered["id"] not in reasons
    # The review ledger counts fallback items on neither side: nothing shows as lost.
    store = open_store(settings.resolved_database_url)
    try:
        ledger = store.review_ledger(None, None)
    finally:
        store.close()
    assert (ledger.created, ledger.pending, ledger.missing) == (0, 0, 0)


def test_a_fallback_answer_above_the_threshold_goes_to_review_only_if_unusual(
    settings: Settings, tmp_path: Path
) -> None:
    _add_wine(settings, tmp_path, delay_s=0.0, fails_above=14.9)
    with app_client(settings.model_copy(update={"review_threshold": 0.3})) as client:
        usual = _wine(client, {**_rows()[0], "alcohol": 15.0})
        unusual = _wine(client, {**_rows()[0], "alcohol": 142.3})
        reasons = _reasons(client)
    assert usual["route"] == "fallback" and usual["confidence"] >= 0.3
    assert usual["review_id"] is None
    # Still route "fallback" (the answer is the fallback's), reviewed as a fallback.
    assert unusual["route"] == "fallback" and unusual["unusual_features"] == ["alcohol"]
    assert reasons[unusual["id"]] == "fallback"


def test_ranges_keep_a_margin_and_skip_what_is_missing() -> None:
    values = np.column_stack([np.linspace(0, 10, 1001), np.zeros(1001), np.r_[np.zeros(1000), 1]])
    sample = ReferenceSample(("x", "constant", "rare_flag"), values, ("a",) * 1001, np.ones(1001))
    ranges = FeatureRanges.of(sample)
    assert ranges.outside({"x": 10.5, "constant": 0.0, "rare_flag": 1.0}) == []
    assert ranges.outside({"x": 12.0, "constant": 0.05, "rare_flag": 0.0}) == ["x"]
    assert ranges.outside({"x": -1.5, "constant": 2.0, "rare_flag": 3.0}) == [
        "x",
        "constant",
        "rare_flag",
    ]
    assert ranges.outside({"x": float("nan")}) == []
