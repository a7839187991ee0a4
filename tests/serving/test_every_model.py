"""The same capabilities, checked for every example model: a capability that works
only for text fails here."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sklearn.datasets import load_digits

from tandem.monitor import DriftConfig, drift_report
from tandem.store.base import PredictionFilter, Store
from tandem_examples.ml_editor.data import read_questions
from tests.conftest import ANSWER_ONLY, DATA_DIR, as_logged


def feature_columns(store: Store, where: PredictionFilter) -> dict[str, np.ndarray]:
    """One float array per feature over the logged predictions `where` selects
    (a feature missing from a row counts as NaN, which drift drops and reports)."""
    predictions = store.list_predictions(where)
    names = sorted({name for p in predictions for name in p.features})
    return {
        name: np.array([p.features.get(name, np.nan) for p in predictions], dtype=float)
        for name in names
    }


def _inputs(model: str, n: int) -> list[dict[str, Any]]:
    if model == "digits":
        return [{"pixels": [int(v) for v in row]} for row in load_digits().data[:n]]
    path = DATA_DIR / "stackexchange" / "ai" / "Posts.xml"
    return [{"title": q.title, "body": q.body} for q in read_questions(path)[:n]]


BAD = {"digits": {"pixels": [1, 2, 3]}, "ml-editor": {"title": "t"}}
MODELS = ["ml-editor", "digits"]


def _predict(client: TestClient, model: str, data: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/predict", json={"model": model, "input": data})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("model", MODELS)
def test_predict_and_lookup(digits_client: TestClient, model: str) -> None:
    body = _predict(digits_client, model, _inputs(model, 1)[0])
    assert body["model"] == model and body["alternatives"][0]["label"] == body["label"]
    assert abs(sum(a["probability"] for a in body["alternatives"]) - 1) < 1e-4
    sizes = [abs(e["contribution"]) for e in body["explanation"]]
    assert sizes == sorted(sizes, reverse=True) and sizes
    stored = digits_client.get(f"/v1/predictions/{body['id']}").json()
    assert as_logged(stored) == {k: v for k, v in body.items() if k not in ANSWER_ONLY}


@pytest.mark.parametrize("model", MODELS)
def test_bad_input_changes_nothing(digits_client: TestClient, model: str) -> None:
    store = digits_client.app.state.store  # type: ignore[attr-defined]
    before = store.count_predictions()
    response = digits_client.post("/v1/predict", json={"model": model, "input": BAD[model]})
    assert response.status_code == 422 and "input." in response.json()["error"]["message"]
    assert store.count_predictions() == before


@pytest.mark.parametrize("model", MODELS)
def test_review_by_api_and_by_page(digits_client: TestClient, model: str) -> None:
    first, second = (_predict(digits_client, model, x) for x in _inputs(model, 2))
    other = first["alternatives"][1]["label"]
    decided = digits_client.post(
        f"/v1/reviews/{first['review_id']}/decision", json={"label": other}
    )
    assert decided.status_code == 200 and decided.json()["label"] == other
    page = digits_client.post(
        f"/review/{second['review_id']}",
        data={"label": second["label"]},
        follow_redirects=False,
    )
    assert page.status_code == 303
    store = digits_client.app.state.store  # type: ignore[attr-defined]
    labels = {p.id: lab.label for p, lab in store.labelled_predictions(model)}
    assert labels == {first["id"]: other, second["id"]: second["label"]}


@pytest.mark.parametrize("model", MODELS)
def test_feedback(digits_client: TestClient, model: str) -> None:
    body = _predict(digits_client, model, _inputs(model, 1)[0])
    other = body["alternatives"][1]["label"]
    response = digits_client.post(
        f"/v1/predictions/{body['id']}/feedback", json={"kind": "incorrect", "label": other}
    )
    assert response.status_code == 201 and response.json()["stored_label"]["label"] == other


@pytest.mark.parametrize("model", MODELS)
def test_replay_reproduces(digits_client: TestClient, model: str) -> None:
    body = _predict(digits_client, model, _inputs(model, 1)[0])
    replayed = digits_client.post(f"/v1/predictions/{body['id']}/replay", json={}).json()
    assert replayed["same_label"] and replayed["max_probability_change"] == 0.0
    assert replayed["replayed"]["explanation"] == body["explanation"]


@pytest.mark.parametrize("model", MODELS)
def test_drift_on_logged_features(digits_client: TestClient, model: str) -> None:
    for data in _inputs(model, 260):
        _predict(digits_client, model, data)
    store = digits_client.app.state.store  # type: ignore[attr-defined]
    columns = feature_columns(store, PredictionFilter(model=model))
    usable = [n for n, col in columns.items() if np.ptp(col) > 0]
    # A seeded shuffle, then halves: the two halves are exchangeable samples of the same
    # traffic (the raw order is not: load_digits cycles 0-9 and the dumps run in time).
    order = np.random.default_rng(0).permutation(260)
    reference = {n: columns[n][order[:130]] for n in usable}
    same = {n: columns[n][order[130:]] for n in usable}
    # 130 rows a side: 5 PSI bins keep PSI's sampling noise well under its threshold.
    config = DriftConfig(psi_bins=5)
    assert drift_report(reference, same, config).drifted_features == ()
    dense = max(usable, key=lambda n: np.count_nonzero(columns[n]))  # ×1000 of 0 is 0
    shifted = dict(same, **{dense: same[dense] * 1000})  # a unit change
    assert drift_report(reference, shifted, config).drifted_features == (dense,)
