"""The no-code path for saved scikit-learn models."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tandem.errors import InvalidInput
from tandem.models.artifacts import MAX_ARTIFACT_BYTES
from tandem.models.sklearn_adapter import SklearnFamily, log_odds, package

NAMES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
ROW = {"sepal_length": 6.0, "sepal_width": 2.9, "petal_length": 4.8, "petal_width": 1.6}


def _save(tmp_path: Path, model: object, schema: object) -> tuple[Path, Path]:
    joblib.dump(model, tmp_path / "m.joblib")
    (tmp_path / "s.json").write_text(json.dumps(schema))
    return tmp_path / "m.joblib", tmp_path / "s.json"


def _iris(model: object, tmp_path: Path, names: list[str] = NAMES) -> tuple[Path, Path]:
    iris = load_iris()
    model.fit(iris.data, iris.target_names[iris.target])  # type: ignore[attr-defined]
    return _save(tmp_path, model, {"features": {n: "number" for n in names}})


def test_linear_model_scores_and_explains_exactly(tmp_path: Path) -> None:
    estimator = LogisticRegression(max_iter=1000)
    trained = package(*_iris(estimator, tmp_path))
    predictor = SklearnFamily("iris").load(trained.content, "v1")
    features = predictor.features(predictor.input_schema.model_validate(ROW))
    x = np.array([[ROW[n] for n in NAMES]])
    assert np.allclose(predictor.predict_proba(features), estimator.predict_proba(x)[0])
    label = predictor.labels[int(np.argmax(predictor.predict_proba(features)))]
    terms = {c.feature: c.contribution for c in predictor.explain(features, label)}
    w = estimator.coef_[list(estimator.classes_).index(label)]
    assert terms == pytest.approx(dict(zip(NAMES, (w * x[0]).round(6), strict=True)))


def test_column_order_is_the_schemas_not_alphabetical(tmp_path: Path) -> None:
    # Columns deliberately not in alphabetical order: sorting them would swap inputs.
    names = ["petal_width", "sepal_length", "petal_length", "sepal_width"]
    iris = load_iris()
    data = iris.data[:, [3, 0, 2, 1]]
    estimator = LogisticRegression(max_iter=1000).fit(data, iris.target)
    model, schema = _save(tmp_path, estimator, {"features": {n: "number" for n in names}})
    predictor = SklearnFamily("iris").load(package(model, schema).content, "v1")
    features = predictor.features(predictor.input_schema.model_validate(ROW))
    x = np.array([[ROW[n] for n in names]])
    assert np.allclose(predictor.predict_proba(features), estimator.predict_proba(x)[0])


def test_pipeline_is_explained_by_occlusion(tmp_path: Path) -> None:
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    predictor = SklearnFamily("iris").load(package(*_iris(pipe, tmp_path)).content, "v1")
    features = predictor.features(predictor.input_schema.model_validate(ROW))
    probs = predictor.predict_proba(features)
    label = predictor.labels[int(np.argmax(probs))]
    explanation = predictor.explain(features, label)
    assert len(explanation) == 4 and any(c.contribution != 0 for c in explanation)
    occluded = dict(features, **{explanation[0].feature: 0.0})
    c = predictor.labels.index(label)
    before, after = probs[c], predictor.predict_proba(occluded)[c]
    drop = np.log(before / (1 - before)) - np.log(after / (1 - after))  # in log-odds
    assert explanation[0].contribution == pytest.approx(drop, abs=1e-5)


def test_a_confident_pipeline_is_explained_in_log_odds(tmp_path: Path) -> None:
    """A scaled logistic pipeline is sure of a setosa (p > 0.9999): setting any one
    feature to the average flower's value moves that probability by under 0.01, which
    shows as +0.00 for every feature. In log-odds each moves by units, all for setosa."""
    iris = load_iris()
    pipe = make_pipeline(StandardScaler(), LogisticRegression(C=100, max_iter=5000))
    model, schema = _iris(pipe, tmp_path)
    mean = dict(zip(NAMES, iris.data.mean(axis=0).round(2).tolist(), strict=True))
    schema.write_text(json.dumps({"features": {n: "number" for n in NAMES}, "baseline": mean}))
    predictor = SklearnFamily("iris").load(package(model, schema).content, "v1")
    setosa = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
    features = predictor.features(predictor.input_schema.model_validate(setosa))
    probs = predictor.predict_proba(features)
    assert predictor.labels[int(np.argmax(probs))] == "setosa" and probs.max() > 0.9999
    for name in NAMES:  # in probability, every term would round to +0.00
        occluded = predictor.predict_proba(dict(features, **{name: mean[name]}))
        assert abs(probs.max() - occluded[0]) < 0.01
    terms = {c.feature: c.contribution for c in predictor.explain(features, "setosa")}
    assert all(t > 1 for t in terms.values()), terms


def test_without_a_baseline_the_reference_mean_is_compared_with(tmp_path: Path) -> None:
    iris = load_iris()
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model, schema = _iris(pipe, tmp_path)  # a schema without "baseline"
    rows = tmp_path / "rows.npy"
    np.save(rows, iris.data)
    predictor = SklearnFamily("iris").load(package(model, schema, rows).content, "v1")
    assert np.allclose(predictor.baseline, iris.data.mean(axis=0), atol=1e-6)
    at_mean = dict(zip(NAMES, predictor.baseline.tolist(), strict=True))
    label = predictor.labels[int(np.argmax(predictor.predict_proba(at_mean)))]
    assert all(c.contribution == 0 for c in predictor.explain(at_mean, label))


def test_a_forest_is_not_taken_for_certain(tmp_path: Path) -> None:
    """Fifty trees voting alike give 1.0, not a billion to one: with a reference, the
    log-odds floor is half a vote, so one tree changing sides is about 1 unit, not 17."""
    iris = load_iris()
    forest = RandomForestClassifier(n_estimators=50, random_state=0)
    model, schema = _iris(forest, tmp_path)
    rows = tmp_path / "rows.npy"
    np.save(rows, iris.data)
    predictor = SklearnFamily("iris").load(package(model, schema, rows).content, "v1")
    assert predictor.log_odds_floor == pytest.approx(0.01)
    certain = np.array([[1.0, 0.0, 0.0], [0.98, 0.02, 0.0]])
    odds = log_odds(certain, 0, predictor.log_odds_floor)
    assert odds[0] - odds[1] == pytest.approx(np.log(1 / 0.01) - np.log(0.98 / 0.02))  # 0.7
    assert np.isfinite(log_odds(certain, 1)).all()


@pytest.mark.parametrize(
    ("model_bytes", "schema", "says"),
    [
        (b"not a pickle", {"features": {"a": "number"}}, "not a saved scikit-learn model"),
        (None, {"features": {"a": "number"}}, "not a classifier with predict_proba"),
        ("iris", {"features": {"a": "number"}}, "expects 4 features but the schema lists 1"),
        ("iris", {"features": []}, "needs a non-empty 'features' object"),
        ("iris", {"features": {n: "text" for n in NAMES}}, "must be 'number' or 'integer'"),
        ("long labels", {"features": {"a": "number"}}, "class labels must be at most 100"),
    ],
)
def test_bad_files_are_clear_errors(
    tmp_path: Path, model_bytes: object, schema: object, says: str
) -> None:
    model, schema_path = _save(tmp_path, {"not": "a model"}, schema)
    if model_bytes == "iris":
        model, _ = _iris(LogisticRegression(max_iter=1000), tmp_path)
        schema_path.write_text(json.dumps(schema))
    elif model_bytes == "long labels":  # a prediction could not store such a label
        long_label = LogisticRegression().fit([[0.0], [1.0]], ["x" * 101, "short"])
        model, _ = _save(tmp_path, long_label, schema)
    elif isinstance(model_bytes, bytes):
        model.write_bytes(model_bytes)
    with pytest.raises(InvalidInput, match=says):
        package(model, schema_path)


def test_added_models_cannot_be_trained_by_tandem() -> None:
    with pytest.raises(InvalidInput, match="tandem models add"):
        SklearnFamily("iris").train(Path("."))


def test_a_model_file_over_the_artifact_limit_is_refused_unread(tmp_path: Path) -> None:
    model, schema = _iris(LogisticRegression(max_iter=1000), tmp_path)
    with model.open("r+b") as f:  # sparse: 1 GiB and a byte, without writing it
        f.truncate(MAX_ARTIFACT_BYTES + 1)
    with pytest.raises(InvalidInput, match="at most 1,073,741,824 bytes"):
        package(model, schema)
