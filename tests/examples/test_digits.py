from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from tandem.models.interface import LabelledExample, TrainedArtifact
from tandem_examples.digits.family import family
from tandem_examples.digits.model import FEATURE_NAMES, LABELS, DigitsPredictor
from tandem_examples.digits.schema import Digit
from tandem_examples.digits.train import load_dataset, split

UNUSED = Path("/nonexistent")  # the scans ship with scikit-learn


@pytest.fixture(scope="module")
def artifact() -> TrainedArtifact:
    """Trained once for this module (~2 s)."""
    return family.train(UNUSED)


@pytest.fixture(scope="module")
def predictor(artifact: TrainedArtifact) -> DigitsPredictor:
    loaded = family.load(artifact.content, "v1")
    assert isinstance(loaded, DigitsPredictor)
    return loaded


@pytest.fixture(scope="module")
def test_scans() -> tuple[np.ndarray, np.ndarray]:
    X, y, _ = load_dataset()
    _, idx_test = split(y)
    return X[idx_test].astype(int), y[idx_test]


def _features(predictor: DigitsPredictor, pixels: np.ndarray) -> dict[str, float]:
    return predictor.features(Digit(pixels=pixels.tolist()))


@pytest.mark.parametrize(
    ("pixels", "message"),
    [
        ([0] * 63, "expected 64 pixels (an 8x8 scan, row-major), got 63"),
        ([0] * 63 + [17], "each pixel must be 0-16: pixel 63 (row 7, col 7) is 17"),
        ([0] * 63 + ["seven"], "pixel 63 is 'seven'; each pixel must be a number 0-16"),
    ],
)
def test_schema_rejects_what_is_not_a_scan(pixels: list[object], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        Digit.model_validate({"pixels": pixels})


def test_schema_forbids_extra_fields_and_accepts_whole_floats() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Digit.model_validate({"pixels": [0] * 64, "label": "3"})
    assert Digit.model_validate({"pixels": [16.0] * 64}).pixels == [16] * 64


def test_model_beats_the_centroid_baseline(artifact: TrainedArtifact) -> None:
    m = artifact.metrics
    assert m["n_test"] == 360 and m["n_train"] == 1437
    assert m["model"]["accuracy"] > 0.9
    assert m["model"]["accuracy"] > m["baseline"]["accuracy"]
    assert m["model"]["log_loss"] < m["baseline"]["log_loss"]
    assert sum(s["model"]["n"] for s in m["slices"]["digit"].values()) == 360
    assert "| accuracy |" in artifact.report and "| 9 | 36 |" in artifact.report


def test_temperature_scaling_improves_calibration(artifact: TrainedArtifact) -> None:
    m = artifact.metrics
    assert m["model"]["ece"] < m["uncalibrated"]["ece"]
    assert m["model"]["log_loss"] < m["uncalibrated"]["log_loss"]


def test_review_threshold_sends_a_share_to_review(
    predictor: DigitsPredictor, test_scans: tuple[np.ndarray, np.ndarray]
) -> None:
    X, _ = test_scans
    conf = np.array([predictor.predict_proba(_features(predictor, x)).max() for x in X])
    assert 0.05 < (conf < predictor.review_threshold).mean() < 0.3


def test_training_is_deterministic(artifact: TrainedArtifact) -> None:
    assert family.train(UNUSED).content == artifact.content


def test_probabilities_sum_to_one_and_mostly_right(
    predictor: DigitsPredictor, test_scans: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = test_scans
    probs = np.array([predictor.predict_proba(_features(predictor, x)) for x in X])
    assert probs.shape == (360, 10) and np.allclose(probs.sum(axis=1), 1.0)
    assert predictor.labels == LABELS == tuple("0123456789")
    assert (probs.argmax(axis=1) == y).mean() > 0.9


def test_features_are_named_pixels(predictor: DigitsPredictor) -> None:
    pixels = list(range(16)) * 4
    f = predictor.features(Digit(pixels=pixels))
    assert list(f) == list(FEATURE_NAMES) and f["px_r0_c3"] == 3.0 and f["px_r7_c7"] == 15.0


@pytest.mark.parametrize("which", ["predicted", "runner-up"])
def test_explanation_is_exact_log_odds_against_the_rivals(
    predictor: DigitsPredictor, test_scans: tuple[np.ndarray, np.ndarray], which: str
) -> None:
    f = _features(predictor, test_scans[0][0])
    p = predictor.predict_proba(f)
    c = int(np.argsort(p)[-1 if which == "predicted" else -2])
    parts = predictor.explain(f, LABELS[c])
    sizes = [abs(k.contribution) for k in parts]
    assert len(parts) == 64 and sizes == sorted(sizes, reverse=True)
    rivals = np.delete(np.arange(10), c)
    q = p[rivals] / p[rivals].sum()
    expected = float(q @ (np.log(p[c]) - np.log(p[rivals])))
    total = sum(k.contribution for k in parts) + predictor.intercept_share(f, LABELS[c])
    assert total == pytest.approx(expected, abs=1e-9)
    assert all(k.contribution == 0.0 for k in parts if k.value == 0.0)


def test_fallback_is_the_nearest_centroid(
    predictor: DigitsPredictor, test_scans: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = test_scans
    probs = np.array([predictor.rule_fallback(_features(predictor, x)) for x in X])
    assert np.allclose(probs.sum(axis=1), 1.0)
    assert (probs.argmax(axis=1) == y).mean() > 0.85


def test_fallback_answer_explains_label_against_runner_up(
    predictor: DigitsPredictor, test_scans: tuple[np.ndarray, np.ndarray]
) -> None:
    answer = predictor.fallback(Digit(pixels=test_scans[0][0].tolist()))
    top, second = np.sort(answer.probabilities)[::-1][:2]
    assert len(answer.explanation) == 64
    total = sum(k.contribution for k in answer.explanation)
    assert total == pytest.approx(np.log(top / second), abs=1e-9)


def test_labels_people_gave_join_training_and_holdout(
    test_scans: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = test_scans
    labelled = [
        LabelledExample({"pixels": X[i].tolist()}, str(y[i]), "review", f"p{i}") for i in range(5)
    ]
    m = family.train(UNUSED, extra=labelled[:3], evaluate_on=labelled[3:]).metrics
    assert m["n_extra"] == 3 and m["live_holdout"]["model"]["n"] == 2


@pytest.mark.parametrize(
    "content", [b'{"format": "tandem.ml-editor.calibrated-logreg/1"}', b"\x80 not json"]
)
def test_loading_a_foreign_artifact_is_refused(content: bytes) -> None:
    with pytest.raises(ValueError, match="not a digits artifact"):
        family.load(content, "v")
