"""Train the ML Editor: rule baseline vs calibrated logistic regression, on a fixed
stratified split, with the test split touched once, for the report.

Labels people gave (reviews, feedback) join the *training* split only; the test
split stays the dumps' own, so a retrained candidate is compared like with like."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, brier_score_loss, f1_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split
from sklearn.preprocessing import StandardScaler

from tandem.models.interface import LabelledExample, Progress, TrainedArtifact
from tandem.models.reference_sample import sample_reference
from tandem_examples.family import artifact
from tandem_examples.ml_editor import features as fx
from tandem_examples.ml_editor.baseline import rule_score
from tandem_examples.ml_editor.data import Question, load_dataset
from tandem_examples.ml_editor.model import LABELS, LinearParams, design_row

SEED = 42
TEST_SIZE = 0.2
REVIEW_SHARE = 0.25
"""Default review threshold: the confidence below which a quarter of training
questions (out-of-fold) fall, so reviewers see the least certain 25 %."""
LENGTH_BUCKETS = (
    (0, 50, "<50 words"),
    (50, 150, "50-149 words"),
    (150, 400, "150-399 words"),
    (400, 10**9, "400+ words"),
)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return out


def _metrics(y: np.ndarray, p_good: np.ndarray, cutoff: float) -> dict[str, Any]:
    pred = (p_good >= cutoff).astype(int)
    both = len(np.unique(y)) == 2
    return {
        "n": int(len(y)),
        "roc_auc": round(float(roc_auc_score(y, p_good)), 4) if both else None,
        "f1_good": round(float(f1_score(y, pred, zero_division=0)), 4),
        "f1_macro": round(float(f1_score(y, pred, average="macro", zero_division=0)), 4),
        "accuracy": round(float(accuracy_score(y, pred)), 4),
    }


def _best_cutoff(y: np.ndarray, scores: np.ndarray) -> float:
    """The rule-score cutoff with the best macro F1 on the training split.

    Macro rather than the `good` class's F1: that one is maximised by calling
    everything good, which is no baseline at all."""
    candidates = np.unique(scores)
    f1s = [f1_score(y, (scores >= c).astype(int), average="macro") for c in candidates]
    return float(candidates[int(np.argmax(f1s))])


def _slices(questions: Sequence[Question], rows: list[dict[str, float]]) -> dict[str, list[str]]:
    """Each test question's group in each slice the data README asks to report."""

    def bucket(words: float) -> str:
        return next(name for lo, hi, name in LENGTH_BUCKETS if lo <= words < hi)

    return {
        "site": [q.site for q in questions],
        "length": [bucket(r["body_words"]) for r in rows],
        "contains_code": ["yes" if r["code_blocks"] > 0 else "no" for r in rows],
        "title_question_mark": ["yes" if r["title_has_question_mark"] else "no" for r in rows],
    }


def train(
    data_dir: Path,
    progress: Progress | None = None,
    extra: list[LabelledExample] | None = None,
    evaluate_on: list[LabelledExample] | None = None,
) -> TrainedArtifact:
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
    X_train, y_train, rules_train = X[idx_train], y[idx_train], rules[idx_train]
    extra_rows = [fx.extract(e.input["title"], e.input["body"]) for e in extra or []]
    if extra_rows:
        X_train = np.vstack([X_train, [design_row(r, names) for r in extra_rows]])
        y_train = np.concatenate([y_train, [e.label == "good" for e in extra or []]])
        rules_train = np.concatenate([rules_train, [rule_score(r) for r in extra_rows]])

    report("fitting", 0.0)
    scaler = StandardScaler().fit(X_train)
    Z_train, Z_test = scaler.transform(X_train), scaler.transform(X[idx_test])
    clf = LogisticRegression(C=1.0, max_iter=1000)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)
    oof = cross_val_predict(clf, Z_train, y_train, cv=folds, method="decision_function")
    report("fitting", 0.5)
    platt = LogisticRegression(C=1e6, max_iter=1000).fit(oof.reshape(-1, 1), y_train)
    calib_a, calib_b = float(platt.coef_[0, 0]), float(platt.intercept_[0])
    clf.fit(Z_train, y_train)
    # The fallback: the rule score, Platt-calibrated on the training split, so even
    # its confidence means something.
    rules_platt = LogisticRegression(C=1e6, max_iter=1000).fit(rules_train.reshape(-1, 1), y_train)
    report("fitting", 1.0)

    def p_good(Z: np.ndarray) -> np.ndarray:
        return _sigmoid(calib_a * (Z @ clf.coef_[0] + clf.intercept_[0]) + calib_b)

    p_oof = _sigmoid(calib_a * oof + calib_b)
    confidence_oof = np.maximum(p_oof, 1.0 - p_oof)
    review_threshold = round(float(np.quantile(confidence_oof, REVIEW_SHARE)), 4)

    p_test = p_good(Z_test)
    rule_cutoff = _best_cutoff(y_train, rules_train)
    y_test = y[idx_test]
    model_m = _metrics(y_test, p_test, 0.5)
    model_m["brier"] = round(float(brier_score_loss(y_test, p_test)), 4)
    base_m = _metrics(y_test, rules[idx_test], rule_cutoff)

    test_rows = [rows[i] for i in idx_test]
    slice_metrics: dict[str, dict[str, Any]] = {}
    for slice_name, groups in _slices([questions[i] for i in idx_test], test_rows).items():
        g = np.array(groups)
        slice_metrics[slice_name] = {
            value: {
                "model": _metrics(y_test[g == value], p_test[g == value], 0.5),
                "baseline": _metrics(y_test[g == value], rules[idx_test][g == value], rule_cutoff),
            }
            for value in sorted(set(groups))
        }

    metrics: dict[str, Any] = {
        "model": model_m,
        "baseline": base_m,
        "baseline_cutoff": rule_cutoff,
        "n_train": int(len(idx_train)),
        "n_extra": len(extra_rows),
        "n_test": int(len(idx_test)),
        "share_good": round(float(y.mean()), 4),
        "seed": SEED,
        "review_threshold": review_threshold,
        "slices": slice_metrics,
    }
    if evaluate_on:
        live_rows = [fx.extract(e.input["title"], e.input["body"]) for e in evaluate_on]
        y_live = np.array([e.label == "good" for e in evaluate_on], dtype=int)
        Z_live = scaler.transform(np.vstack([design_row(r, names) for r in live_rows]))
        live_rules = np.array([rule_score(r) for r in live_rows])
        metrics["live_holdout"] = {
            "model": _metrics(y_live, p_good(Z_live), 0.5),
            "baseline": _metrics(y_live, live_rules, rule_cutoff),
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
        fallback_a=float(rules_platt.coef_[0, 0]),
        fallback_b=float(rules_platt.intercept_[0]),
    )
    # The drift reference: the training split's raw features (as logged at serving
    # time, before log1p and scaling), scored by this model.
    raw_train = np.array([[rows[i][n] for n in names] for i in idx_train])
    reference = sample_reference(
        names,
        raw_train,
        LABELS,
        lambda m: _two_class(p_good(scaler.transform(_design(m, names)))),
    )
    return artifact(params, data_hash, metrics, render_report(metrics), reference)


def _design(raw: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    return np.vstack([design_row(dict(zip(names, r, strict=True)), names) for r in raw])


def _two_class(p_good: np.ndarray) -> np.ndarray:
    return np.column_stack([1.0 - p_good, p_good])


def render_report(m: dict[str, Any]) -> str:
    extra = f", plus {m['n_extra']} labelled by people" if m.get("n_extra") else ""
    lines = [
        f"ML Editor - test split of {m['n_test']} questions (train {m['n_train']}{extra}, "
        f"seed {m['seed']})",
        "",
        "| metric | rule baseline | model |",
        "|---|---|---|",
    ]
    for key in ("roc_auc", "f1_good", "f1_macro", "accuracy"):
        lines.append(f"| {key} | {m['baseline'][key]:.4f} | {m['model'][key]:.4f} |")
    lines.append(f"| brier | - | {m['model']['brier']:.4f} |")
    if "live_holdout" in m:
        live = m["live_holdout"]
        lines.append(
            f"\nlive holdout ({live['model']['n']} reviewed items): accuracy "
            f"baseline {live['baseline']['accuracy']:.4f}, model {live['model']['accuracy']:.4f}"
        )
    lines.append("")
    lines.append(f"default review threshold (confidence): {m['review_threshold']}")
    return "\n".join(lines)
