"""A saved scikit-learn model always has a fallback, chosen without code: a rule (the
reference's majority label, a constant, every label alike) or a second saved model."""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from tandem.cli.main import run
from tandem.errors import InvalidInput
from tandem.models.artifacts import ArtifactStore
from tandem.models.sklearn_adapter import SklearnFamily, package
from tandem.models.sklearn_fallback import rule
from tandem.registry.versions import register
from tandem.settings import Settings
from tandem.store import open_store
from tests.conftest import app_client, env_for
from tests.fakes import SlowClassifier

NAMES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
LABELS = ("setosa", "versicolor", "virginica")
FLOWER = {"sepal_length": 6.0, "sepal_width": 2.9, "petal_length": 4.8, "petal_width": 1.6}
# An unbalanced reference: 50 setosa, 30 versicolor, 20 virginica.
KEEP = np.r_[0:50, 50:80, 100:120]


def _iris_model() -> LogisticRegression:
    iris = load_iris()
    return LogisticRegression(max_iter=1000).fit(iris.data, iris.target_names[iris.target])


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A model too slow for its 50 ms budget, its schema, and reference rows with and
    without true labels."""
    iris = load_iris()
    joblib.dump(SlowClassifier(_iris_model(), delay_s=0.3), tmp_path / "slow.joblib")
    (tmp_path / "schema.json").write_text(json.dumps({"features": {n: "number" for n in NAMES}}))
    with (tmp_path / "labelled.csv").open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow([*NAMES, "label"])
        for row, label in zip(iris.data[KEEP], iris.target_names[iris.target[KEEP]], strict=True):
            out.writerow([*row.tolist(), label])
    np.save(tmp_path / "unlabelled.npy", iris.data[KEEP])
    return {
        "model": tmp_path / "slow.joblib",
        "schema": tmp_path / "schema.json",
        "labelled": tmp_path / "labelled.csv",
        "unlabelled": tmp_path / "unlabelled.npy",
    }


def _serve(settings: Settings, model: Path, schema: Path, *args: object) -> None:
    trained = package(model, schema, *args)  # type: ignore[arg-type]
    store = open_store(settings.resolved_database_url)
    try:
        register(store, ArtifactStore(settings.artifacts_dir), "iris", trained, {}, True)
    finally:
        store.close()


def _predict(settings: Settings, flower: dict[str, float] = FLOWER) -> dict[str, object]:
    with app_client(settings) as client:
        response = client.post("/v1/predict", json={"model": "iris", "input": flower})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_a_slow_model_answers_with_the_reference_majority_not_503(
    settings: Settings, files: dict[str, Path]
) -> None:
    _serve(settings, files["model"], files["schema"], files["labelled"])
    body = _predict(settings)
    assert (body["route"], body["fallback_reason"]) == ("fallback", "timeout")
    # Each label's share of the reference's labels: setosa is the most common.
    assert body["label"] == "setosa" and body["confidence"] == 0.5
    assert body["alternatives"] == [
        {"label": "setosa", "probability": 0.5},
        {"label": "versicolor", "probability": 0.3},
        {"label": "virginica", "probability": 0.2},
    ]
    assert body["explanation"] == [
        {"feature": "fallback rule: majority", "value": 1.0, "contribution": 0.0}
    ]


def test_without_labels_the_fallback_is_the_models_own_majority(
    settings: Settings, files: dict[str, Path]
) -> None:
    _serve(settings, files["model"], files["schema"], files["unlabelled"])
    body = _predict(settings)
    predicted = _iris_model().predict(load_iris().data[KEEP])
    top = max(LABELS, key=lambda label: int((predicted == label).sum()))
    assert (body["route"], body["label"]) == ("fallback", top)
    assert body["confidence"] == pytest.approx((predicted == top).mean(), abs=1e-6)


def test_without_a_reference_every_label_is_alike_and_says_so(
    settings: Settings, files: dict[str, Path]
) -> None:
    _serve(settings, files["model"], files["schema"])
    body = _predict(settings)
    assert (body["route"], body["fallback_reason"]) == ("fallback", "timeout")
    assert body["label"] == "setosa" and body["confidence"] == pytest.approx(1 / 3, abs=1e-6)
    assert body["explanation"][0]["feature"] == "fallback rule: uniform"  # type: ignore[index]


def test_a_second_saved_model_answers_in_the_first_ones_labels(
    settings: Settings, files: dict[str, Path], tmp_path: Path
) -> None:
    """The fallback knows two of the three labels; its answer is put in the model's
    label order and explained by occlusion, like the model's own."""
    iris = load_iris()
    two = iris.target > 0
    small = LogisticRegression(max_iter=1000).fit(
        iris.data[two], iris.target_names[iris.target[two]]
    )
    joblib.dump(small, tmp_path / "small.joblib")
    _serve(
        settings, files["model"], files["schema"], files["labelled"], str(tmp_path / "small.joblib")
    )
    body = _predict(settings)
    assert (body["route"], body["fallback_reason"]) == ("fallback", "timeout")
    expected = small.predict_proba(np.array([[FLOWER[n] for n in NAMES]]))[0]
    got = {a["label"]: a["probability"] for a in body["alternatives"]}  # type: ignore[attr-defined]
    assert got == pytest.approx(
        {"setosa": 0.0, "versicolor": expected[0], "virginica": expected[1]}
    )
    assert {e["feature"] for e in body["explanation"]} == set(NAMES)  # type: ignore[attr-defined]
    assert any(e["contribution"] != 0 for e in body["explanation"])  # type: ignore[attr-defined]


def test_a_failing_fallback_model_leaves_the_answer_to_the_uniform_rule(
    settings: Settings, files: dict[str, Path], tmp_path: Path
) -> None:
    joblib.dump(SlowClassifier(_iris_model(), 0.3, fails_above=100), tmp_path / "both.joblib")
    joblib.dump(SlowClassifier(_iris_model(), 0.0, fails_above=100), tmp_path / "fb.joblib")
    _serve(settings, tmp_path / "both.joblib", files["schema"], None, str(tmp_path / "fb.joblib"))
    body = _predict(settings, dict(FLOWER, sepal_length=500.0))
    assert body["route"] == "fallback" and body["confidence"] == pytest.approx(1 / 3, abs=1e-6)


def test_a_version_stored_before_fallbacks_gets_the_uniform_rule(
    files: dict[str, Path],
) -> None:
    doc = json.loads(package(files["model"], files["schema"], files["labelled"]).content)
    for key in ("fallback", "baseline", "log_odds_floor"):
        del doc[key]
    predictor = SklearnFamily("iris").load(json.dumps(doc).encode(), "v1")
    answer = predictor.fallback(predictor.input_schema.model_validate(FLOWER))
    assert answer.probabilities.tolist() == pytest.approx([1 / 3] * 3)


@pytest.mark.parametrize(
    ("choice", "true_labels", "predicted", "probabilities", "says"),
    [
        ("majority", ["b", "b", "a", ""], None, [1 / 3, 2 / 3, 0.0], "'b' (2 of 3)"),
        (None, ["b", "b", "a"], ["c"], [1 / 3, 2 / 3, 0.0], "the reference's labels"),
        (None, None, ["c", "c", "a"], [1 / 3, 0.0, 2 / 3], "the model's answers"),
        (None, ["", ""], ["a"], [1.0, 0.0, 0.0], "the model's answers"),
        (None, None, None, [1 / 3] * 3, "every label equally likely"),
        ("uniform", ["b"], None, [1 / 3] * 3, "every label equally likely"),
        ("constant:c", None, None, [0.0, 0.0, 1.0], "always 'c'"),
        ("majority", ["a", "b"], None, [0.5, 0.5, 0.0], "tied with 'b'"),
    ],
)
def test_rules(
    choice: str | None,
    true_labels: list[str] | None,
    predicted: list[str] | None,
    probabilities: list[float],
    says: str,
) -> None:
    stored = rule(choice, ("a", "b", "c"), true_labels, predicted)
    assert stored["probabilities"] == pytest.approx(probabilities)
    assert says in stored["description"]


@pytest.mark.parametrize(
    ("choice", "true_labels", "says"),
    [
        ("majority", None, "needs the reference's labels"),
        ("majority", ["", ""], "needs the reference's labels"),
        ("constant:d", None, "'d' is not one of the model's labels (a, b, c)"),
        ("majority", ["a", "zebra"], "label 'zebra' is not one of the model's labels"),
        ("minority", None, "unknown fallback 'minority'"),
    ],
)
def test_bad_rules_say_what_is_wrong(choice: str, true_labels: list[str] | None, says: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(says)):
        rule(choice, ("a", "b", "c"), true_labels)


def _add(
    settings: Settings,
    files: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *extra: str,
) -> tuple[int, str]:
    """`tandem models add` through the console script's entry, in this process."""
    for key, value in env_for(settings).items():
        monkeypatch.setenv(key, value)
    args = ["models", "add", "iris", "--sklearn", str(files["model"])]
    monkeypatch.setattr(sys, "argv", ["tandem", *args, "--schema", str(files["schema"]), *extra])
    code = 0
    try:
        run()
    except SystemExit as exited:
        code = int(exited.code or 0)
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (("--fallback", "majority"), "--fallback majority needs the reference's labels"),
        (("--fallback", "constant:rose"), "'rose' is not one of the model's labels"),
        (("--fallback", "minority"), "--fallback minority: no such rule (majority, constant"),
        (("--fallback", "missing.joblib"), "no model file to read (No such file or directory)"),
        (("--reference", "unlabelled.npy", "--fallback", "majority"), "needs the reference's"),
        (("--fallback", "schema.json"), "fallback schema.json: the file is not a saved"),
    ],
)
def test_cli_refuses_a_bad_fallback_in_one_line(
    settings: Settings,
    files: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    extra: tuple[str, ...],
    says: str,
) -> None:
    monkeypatch.chdir(files["model"].parent)
    code, err = _add(settings, files, monkeypatch, capsys, *extra)
    assert code == 2 and says in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_cli_says_which_fallback_it_chose_and_the_card_keeps_it(
    settings: Settings,
    files: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, err = _add(settings, files, monkeypatch, capsys, "--reference", str(files["labelled"]))
    assert code == 0, err
    said = "fallback: the most common label in the reference's labels: 'setosa' (50 of 100)"
    assert said in err and "drift reference: 100 of 100 rows, 4 features" in err
    store = open_store(settings.resolved_database_url)
    try:
        (version,) = store.list_model_versions("iris")
    finally:
        store.close()
    assert version.card["sections"]["fallback"].startswith("the most common label")
