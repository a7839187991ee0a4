"""Train the ML Editor: rule baseline vs calibrated logistic regression, on a fixed
stratified split, with the test split touched once, for the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, brier_score_loss, f1_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split
from sklearn.preprocessing import StandardScaler

from tandem.models.interface import Progress, TrainedArtifact
from tandem_examples.ml_editor import features as fx
from tandem_examples.ml_editor.baseline import rule_score
from tandem_examples.ml_editor.data import load_dataset
from tandem_examples.ml_editor.model import LinearParams, design_row

SEED = 42
TEST_SIZE = 0.2
REVIEW_SHARE = 0.25
"""Default review threshold: the confidence below which a quarter of training
questions (out-of-fold) fall, so reviewers see the least certain 25 %."""


def _metrics(y: np.ndarray, p_good: np.ndarray, cutoff: float) -> dict[str, float]:
    pred = (p_good >= cutoff).astype(int)
    return {
        "roc_auc": round(float(roc_auc_score(y, p_good)), 4),
        "f1_good": round(float(f1_score(y, pred)), 4),
        "f1_macro": round(float(f1_score(y, pred, average="macro")), 4),
        "accuracy": round(float(accuracy_score(y, pred)), 4),
    }


def _best_cutoff(y: np.ndarray, scores: np.ndarray) -> float:
    """The rule-score cutoff with the best macro F1 on the training split.

    Macro rather than the `good` class's F1: that one is maximised by calling
    everything good, which is no baseline at all."""
    candidates = np.unique(scores)
    f1s = [f1_score(y, (scores >= c).astype(int), average="macro") for c in candidates]
    return float(candidates[int(np.argmax(f1s))])


def train(data_dir: Path, progress: Progress | None = None) -> TrainedArtifact:
    report = progress or (lambda _stage, _frac: None)
    report("loading dumps", 0.0)
    questions, data_hash = load_dataset(data_dir)
    rows = []
    for i, q in enumerate(questions):
        rows.append(fx.extract(q.title, q.body))
        if i % 200 == 0:
            report("extracting features", i / len(questions))
    report("extracting features", 1.0)
    names = fx.FEATURE_NAMES
    X = np.vstack([design_row(r, names) for r in rows])
    y = np.array([q.label == "good" for q in questions], dtype=int)
    rules = np.array([rule_score(r) for r in rows])
    idx_train, idx_test = train_test_split(
        np.arange(len(y)), test_size=TEST_SIZE, stratify=y, random_state=SEED
    )

    report("fitting", 0.0)
    scaler = StandardScaler().fit(X[idx_train])
    Z_train, Z_test = scaler.transform(X[idx_train]), scaler.transform(X[idx_test])
    clf = LogisticRegression(C=1.0, max_iter=1000)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)
    oof = cross_val_predict(clf, Z_train, y[idx_train], cv=folds, method="decision_function")
    report("fitting", 0.5)
    platt = LogisticRegression(C=1e6, max_iter=1000).fit(oof.reshape(-1, 1), y[idx_train])
    calib_a, calib_b = float(platt.coef_[0, 0]), float(platt.intercept_[0])
    clf.fit(Z_train, y[idx_train])
    report("fitting", 1.0)

    def p_good(Z: np.ndarray) -> np.ndarray:
        raw: np.ndarray = Z @ clf.coef_[0] + clf.intercept_[0]
        return 1.0 / (1.0 + np.exp(-(calib_a * raw + calib_b)))

    p_oof = 1.0 / (1.0 + np.exp(-(calib_a * oof + calib_b)))
    confidence_oof = np.maximum(p_oof, 1.0 - p_oof)
    review_threshold = round(float(np.quantile(confidence_oof, REVIEW_SHARE)), 4)

    p_test = p_good(Z_test)
    rule_cutoff = _best_cutoff(y[idx_train], rules[idx_train])
    model_m = _metrics(y[idx_test], p_test, 0.5)
    model_m["brier"] = round(float(brier_score_loss(y[idx_test], p_test)), 4)
    base_m = _metrics(y[idx_test], rules[idx_test], rule_cutoff)
    metrics: dict[str, Any] = {
        "model": model_m,
        "baseline": base_m,
        "baseline_cutoff": rule_cutoff,
        "n_train": int(len(idx_train)),
        "n_test": int(len(idx_test)),
        "share_good": round(float(y.mean()), 4),
        "seed": SEED,
        "review_threshold": review_threshold,
    }
    params = LinearParams(
        feature_names=names,
        mean=scaler.mean_,
        scale=scaler.scale_,
        coef=clf.coef_[0],
        intercept=float(clf.intercept_[0]),
        calib_a=calib_a,
        calib_b=calib_b,
        review_threshold=review_threshold,
    )
    content = params.to_json({"data_hash": data_hash, "metrics": metrics})
    return TrainedArtifact(
        content=content, data_hash=data_hash, metrics=metrics, report=render_report(metrics)
    )


def render_report(m: dict[str, Any]) -> str:
    lines = [
        f"ML Editor - test split of {m['n_test']} questions (train {m['n_train']}, "
        f"seed {m['seed']})",
        "",
        "| metric | rule baseline | model |",
        "|---|---|---|",
    ]
    for key in ("roc_auc", "f1_good", "f1_macro", "accuracy"):
        lines.append(f"| {key} | {m['baseline'][key]:.4f} | {m['model'][key]:.4f} |")
    lines.append(f"| brier | - | {m['model']['brier']:.4f} |")
    lines.append("")
    lines.append(f"default review threshold (confidence): {m['review_threshold']}")
    return "\n".join(lines)
