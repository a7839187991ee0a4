"""Train the digits model: nearest-centroid baseline vs calibrated multinomial logistic
regression, on a fixed stratified split of scikit-learn's bundled scans (1,797 8x8
digits from the UCI optical recognition set; nothing is downloaded).

Labels people gave (reviews, feedback) join the *training* split only, so every
version is measured on the same 360 test scans."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, log_loss
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split
from threadpoolctl import threadpool_limits

from tandem.models.interface import LabelledExample, Progress, TrainedArtifact
from tandem.models.reference_sample import sample_reference
from tandem_examples.digits.model import (
    CENTROID_TEMPERATURE,
    FEATURE_NAMES,
    LABELS,
    DigitParams,
    centroid_proba,
    softmax,
)
from tandem_examples.digits.schema import MAX_VALUE, Digit
from tandem_examples.family import artifact

SEED = 42
TEST_SIZE = 0.2
C = 1.0
"""sklearn's default L2 strength; the model's accuracy moves by under a point between
C = 0.3 and C = 10, so it is not tuned."""
REVIEW_SHARE = 0.15
"""Default review threshold: the confidence below which 15 % of training scans
(out-of-fold) fall. The model is right ~96 % of the time, so reviewing the least
certain 15 % catches most of its mistakes (the report gives the share) while a
reviewer still sees mostly unclear scans, not routine ones."""
ECE_BINS = 10


def load_dataset() -> tuple[np.ndarray, np.ndarray, str]:
    """Raw pixels (n, 64) as float, digits (n,) as int, and the sha256 of both arrays'
    bytes (little-endian float64 then int64): the data hash registered with the model."""
    bunch = load_digits()
    X = np.ascontiguousarray(bunch.data, dtype="<f8")
    y = np.ascontiguousarray(bunch.target, dtype="<i8")
    digest = hashlib.sha256(X.tobytes() + y.tobytes()).hexdigest()
    return X, y, digest


def split(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the fixed stratified train and test splits."""
    idx_train, idx_test = train_test_split(
        np.arange(len(y)), test_size=TEST_SIZE, stratify=y, random_state=SEED
    )
    return idx_train, idx_test


def _as_arrays(examples: list[LabelledExample]) -> tuple[np.ndarray, np.ndarray]:
    """Labelled inputs people gave, validated like live inputs."""
    rows, labels = [], []
    for e in examples:
        if e.label not in LABELS:
            raise ValueError(f"labelled example {e.prediction_id}: {e.label!r} is not a digit")
        rows.append(Digit.model_validate(e.input).pixels)
        labels.append(int(e.label))
    return np.asarray(rows, dtype=float).reshape(-1, 64), np.asarray(labels, dtype=int)


def expected_calibration_error(y: np.ndarray, probs: np.ndarray) -> float:
    """Top-label ECE: |accuracy - mean confidence| over 10 equal-width confidence bins,
    weighted by each bin's share of rows."""
    conf, hit = probs.max(axis=1), probs.argmax(axis=1) == y
    bins = np.minimum((conf * ECE_BINS).astype(int), ECE_BINS - 1)
    return float(
        sum(
            (bins == b).mean() * abs(hit[bins == b].mean() - conf[bins == b].mean())
            for b in np.unique(bins)
        )
    )


def brier(y: np.ndarray, probs: np.ndarray) -> float:
    """Multiclass Brier score: mean over rows of the squared distance between the
    probabilities and the one-hot truth (0 perfect, 2 worst)."""
    return float(((probs - np.eye(len(LABELS))[y]) ** 2).sum(axis=1).mean())


def _metrics(y: np.ndarray, probs: np.ndarray) -> dict[str, Any]:
    pred = probs.argmax(axis=1)
    return {
        "n": int(len(y)),
        "accuracy": round(float(accuracy_score(y, pred)), 4),
        "f1_macro": round(float(f1_score(y, pred, average="macro", zero_division=0)), 4),
        "log_loss": round(float(log_loss(y, probs, labels=list(range(len(LABELS))))), 4),
        "brier": round(brier(y, probs), 4),
        "ece": round(expected_calibration_error(y, probs), 4),
    }


def _fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The T minimising the log loss of softmax(logits / T): one number, so it cannot
    change which digit wins, only how sure the model says it is."""

    def nll(log_t: float) -> float:
        p = softmax(logits / np.exp(log_t))
        return float(-np.log(p[np.arange(len(y)), y] + 1e-300).mean())

    found = minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded", options={"xatol": 1e-6})
    return round(float(np.exp(found.x)), 6)


def train(
    data_dir: Path | None,
    progress: Progress | None = None,
    extra: list[LabelledExample] | None = None,
    evaluate_on: list[LabelledExample] | None = None,
) -> TrainedArtifact:
    """`data_dir` is unused (the scans ship with scikit-learn); it is accepted so the
    family fits the interface."""
    report = progress or (lambda _stage, _frac: None)
    report("loading scans", 0.0)
    X, y, data_hash = load_dataset()
    idx_train, idx_test = split(y)
    X_extra, y_extra = _as_arrays(extra or [])
    X_train = np.vstack([X[idx_train], X_extra])
    y_train = np.concatenate([y[idx_train], y_extra])
    X_test, y_test = X[idx_test], y[idx_test]

    report("fitting", 0.0)
    clf = LogisticRegression(C=C, max_iter=1000, random_state=SEED)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)
    # One BLAS thread: on 1,437 x 64 floats, threads only fight (13x slower on a busy
    # two-core machine), and one thread also keeps the sums in a fixed order.
    with threadpool_limits(limits=1):
        oof = cross_val_predict(
            clf, X_train / MAX_VALUE, y_train, cv=folds, method="decision_function"
        )
        report("fitting", 0.6)
        temperature = _fit_temperature(oof, y_train)
        clf.fit(X_train / MAX_VALUE, y_train)
    centroids = np.vstack([X_train[y_train == k].mean(axis=0) for k in range(len(LABELS))])
    report("fitting", 1.0)

    p_oof = softmax(oof / temperature)
    confidence_oof = p_oof.max(axis=1)
    review_threshold = round(float(np.quantile(confidence_oof, REVIEW_SHARE)), 4)
    wrong_oof = p_oof.argmax(axis=1) != y_train
    caught = float(
        (wrong_oof & (confidence_oof < review_threshold)).sum() / max(wrong_oof.sum(), 1)
    )

    report("evaluating", 0.0)
    coef, intercept = clf.coef_ / temperature, clf.intercept_ / temperature

    def model_proba(pixels: np.ndarray) -> np.ndarray:
        return softmax(pixels / MAX_VALUE @ coef.T + intercept)

    p_test = model_proba(X_test)
    p_test_raw = softmax(X_test / MAX_VALUE @ clf.coef_.T + clf.intercept_)
    b_test = centroid_proba(X_test, centroids)
    model_pred, base_pred = p_test.argmax(axis=1), b_test.argmax(axis=1)
    per_digit = {
        LABELS[k]: {
            "model": {
                "n": int((y_test == k).sum()),
                "accuracy": round(float((model_pred[y_test == k] == k).mean()), 4),
            },
            "baseline": {
                "n": int((y_test == k).sum()),
                "accuracy": round(float((base_pred[y_test == k] == k).mean()), 4),
            },
        }
        for k in range(len(LABELS))
    }
    metrics: dict[str, Any] = {
        "model": _metrics(y_test, p_test),
        "baseline": _metrics(y_test, b_test),
        "uncalibrated": _metrics(y_test, p_test_raw),
        "temperature": temperature,
        "centroid_temperature": CENTROID_TEMPERATURE,
        "n_train": int(len(idx_train)),
        "n_extra": int(len(y_extra)),
        "n_test": int(len(idx_test)),
        "seed": SEED,
        "review_threshold": review_threshold,
        "review_share": REVIEW_SHARE,
        "review_catches_oof_errors": round(caught, 4),
        "slices": {"digit": per_digit},
    }
    if evaluate_on:
        X_live, y_live = _as_arrays(evaluate_on)
        metrics["live_holdout"] = {
            "model": _metrics(y_live, model_proba(X_live)),
            "baseline": _metrics(y_live, centroid_proba(X_live, centroids)),
        }
    report("evaluating", 1.0)
    params = DigitParams(
        coef=coef,
        intercept=intercept,
        centroids=centroids,
        temperature=temperature,
        review_threshold=review_threshold,
    )
    # The drift reference: the training scans (raw 0-16 pixels, as logged), scored by
    # this model.
    reference = sample_reference(FEATURE_NAMES, X[idx_train], LABELS, model_proba)
    return artifact(params, data_hash, metrics, render_report(metrics), reference)


def render_report(m: dict[str, Any]) -> str:
    extra = f", plus {m['n_extra']} labelled by people" if m.get("n_extra") else ""
    lines = [
        f"Digits - test split of {m['n_test']} scans (train {m['n_train']}{extra}, "
        f"seed {m['seed']})",
        "",
        "| metric | nearest-centroid baseline | model |",
        "|---|---|---|",
    ]
    for key in ("accuracy", "f1_macro", "log_loss", "brier", "ece"):
        lines.append(f"| {key} | {m['baseline'][key]:.4f} | {m['model'][key]:.4f} |")
    raw = m["uncalibrated"]
    lines += [
        "",
        f"calibration: temperature {m['temperature']:.4f} fitted out-of-fold; before it, "
        f"ece {raw['ece']:.4f}, brier {raw['brier']:.4f}, log_loss {raw['log_loss']:.4f}",
        "",
        "| digit | n | baseline accuracy | model accuracy |",
        "|---|---|---|---|",
    ]
    for digit, s in m["slices"]["digit"].items():
        lines.append(
            f"| {digit} | {s['model']['n']} | {s['baseline']['accuracy']:.4f} | "
            f"{s['model']['accuracy']:.4f} |"
        )
    if "live_holdout" in m:
        live = m["live_holdout"]
        lines.append(
            f"\nlive holdout ({live['model']['n']} reviewed items): accuracy "
            f"baseline {live['baseline']['accuracy']:.4f}, model {live['model']['accuracy']:.4f}"
        )
    lines += [
        "",
        f"default review threshold (confidence): {m['review_threshold']} - sends "
        f"{m['review_share']:.0%} of training scans to review (out-of-fold), catching "
        f"{m['review_catches_oof_errors']:.0%} of the model's out-of-fold mistakes",
    ]
    return "\n".join(lines)
