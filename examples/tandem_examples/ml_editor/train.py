"""Train the ML Editor: rule baseline vs the writing-features-only model it served
before vs one calibrated logistic regression over the writing features and the word
TF-IDF, on a fixed stratified split, with the test split touched once, for the report.

Labels people gave (reviews, feedback) join the *training* split only; the test
split stays the dumps' own, so a retrained candidate is compared like with like."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, brier_score_loss, f1_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from tandem.models.interface import LabelledExample, Progress, TrainedArtifact
from tandem.models.reference_sample import sample_reference
from tandem_examples.family import artifact
from tandem_examples.ml_editor import features as fx
from tandem_examples.ml_editor.baseline import rule_score
from tandem_examples.ml_editor.data import Question, load_dataset
from tandem_examples.ml_editor.model import (
    LABELS,
    WORDING,
    LinearParams,
    MlEditorPredictor,
    design_row,
)
from tandem_examples.ml_editor.wording import Wording, text_of

SEED = 42
TEST_SIZE = 0.2
MAX_TERMS = 5000
"""Vocabulary cap: the artifact carries every term with its idf and weight."""
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


def _pipeline() -> Pipeline:
    """Word TF-IDF beside the (log-scaled) writing features, one logistic regression
    over both: column 0 is the text, the rest the writing features.

    Chosen by 5-fold ROC-AUC on the training split only (unigrams vs 1-2-grams,
    2,000-5,000 terms, C 0.3-3 all land within 0.01): unigrams keep each word's
    share countable per sentence, and 5,000 terms keep the artifact small."""
    columns = ColumnTransformer(
        [
            ("wording", TfidfVectorizer(sublinear_tf=True, min_df=2, max_features=MAX_TERMS), 0),
            ("writing", StandardScaler(), list(range(1, 1 + len(fx.FEATURE_NAMES)))),
        ],
        sparse_threshold=1.0,
    )
    # liblinear: ~7x faster than lbfgs on these 5,000 sparse columns, and seeded.
    logreg = LogisticRegression(C=1.0, solver="liblinear", random_state=SEED)
    return Pipeline([("columns", columns), ("logreg", logreg)])


def _table(texts: Sequence[str], X: np.ndarray) -> np.ndarray:
    table = np.empty((len(texts), 1 + X.shape[1]), dtype=object)
    table[:, 0] = list(texts)
    table[:, 1:] = X
    return table


def _platt(scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    platt = LogisticRegression(C=1e6, max_iter=1000).fit(scores.reshape(-1, 1), y)
    return float(platt.coef_[0, 0]), float(platt.intercept_[0])


def _previous_model(X_train: np.ndarray, y_train: np.ndarray) -> Callable[[np.ndarray], Any]:
    """The writing-features-only model the ML Editor served before the wording group,
    trained as it was then: the "previous" column of the report."""
    scaler = StandardScaler().fit(X_train)
    clf = LogisticRegression(C=1.0, max_iter=1000)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)
    Z = scaler.transform(X_train)
    oof = cross_val_predict(clf, Z, y_train, cv=folds, method="decision_function")
    a, b = _platt(oof, y_train)
    clf.fit(Z, y_train)
    return lambda X: _sigmoid(a * clf.decision_function(scaler.transform(X)) + b)


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
    texts = [text_of(q.title, q.body) for q in questions]
    y = np.array([q.label == "good" for q in questions], dtype=int)
    rules = np.array([rule_score(r) for r in rows])
    idx_train, idx_test = train_test_split(
        np.arange(len(y)), test_size=TEST_SIZE, stratify=y, random_state=SEED
    )
    X_train, y_train, rules_train = X[idx_train], y[idx_train], rules[idx_train]
    texts_train = [texts[i] for i in idx_train]
    extra_rows = [fx.extract(e.input["title"], e.input["body"]) for e in extra or []]
    if extra_rows:
        X_train = np.vstack([X_train, [design_row(r, names) for r in extra_rows]])
        y_train = np.concatenate([y_train, [e.label == "good" for e in extra or []]])
        rules_train = np.concatenate([rules_train, [rule_score(r) for r in extra_rows]])
        texts_train += [text_of(e.input["title"], e.input["body"]) for e in extra or []]
    T_train = _table(texts_train, X_train)

    report("fitting", 0.0)
    # Out-of-fold scores on the training split: what calibration, the review threshold
    # and the drift reference's wording are fitted on (never the test split).
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)
    oof = np.zeros(len(y_train))
    oof_wording = np.zeros(len(y_train))
    for k, (fit_idx, held_idx) in enumerate(folds.split(T_train, y_train)):
        fold = _pipeline().fit(T_train[fit_idx], y_train[fit_idx])
        oof[held_idx] = fold.decision_function(T_train[held_idx])
        oof_wording[held_idx] = _wording_part(fold, T_train[held_idx])
        report("fitting", (k + 1) / 7)
    calib_a, calib_b = _platt(oof, y_train)
    pipeline = _pipeline().fit(T_train, y_train)
    previous = _previous_model(X_train, y_train)
    # The fallback: the rule score, Platt-calibrated on the training split, so even
    # its confidence means something.
    fallback_a, fallback_b = _platt(rules_train, y_train)
    report("fitting", 1.0)

    p_oof = _sigmoid(calib_a * oof + calib_b)
    confidence_oof = np.maximum(p_oof, 1.0 - p_oof)
    review_threshold = round(float(np.quantile(confidence_oof, REVIEW_SHARE)), 4)
    params = _params(pipeline, calib_a, calib_b, review_threshold, fallback_a, fallback_b)
    predictor = MlEditorPredictor(params, "training", {})

    def p_good(texts: Sequence[str], raw: Sequence[dict[str, float]]) -> np.ndarray:
        """P(good) as served: from the exported parameters, not the pipeline."""
        return np.array(
            [
                predictor.predict_proba(_features(predictor, t, r))[1]
                for t, r in zip(texts, raw, strict=True)
            ]
        )

    y_test = y[idx_test]
    texts_test, X_test = [texts[i] for i in idx_test], X[idx_test]
    p_test = p_good(texts_test, [rows[i] for i in idx_test])
    fitted = _sigmoid(calib_a * pipeline.decision_function(_table(texts_test, X_test)) + calib_b)
    if not np.allclose(p_test, fitted, rtol=0, atol=1e-9):
        raise RuntimeError("the exported ML Editor scores differ from the fitted pipeline's")
    p_test_previous = previous(X_test)
    rule_cutoff = _best_cutoff(y_train, rules_train)
    model_m = _metrics(y_test, p_test, 0.5)
    model_m["brier"] = round(float(brier_score_loss(y_test, p_test)), 4)
    previous_m = _metrics(y_test, p_test_previous, 0.5)
    previous_m["brier"] = round(float(brier_score_loss(y_test, p_test_previous)), 4)
    base_m = _metrics(y_test, rules[idx_test], rule_cutoff)

    test_rows = [rows[i] for i in idx_test]
    slice_metrics: dict[str, dict[str, Any]] = {}
    for slice_name, groups in _slices([questions[i] for i in idx_test], test_rows).items():
        g = np.array(groups)
        slice_metrics[slice_name] = {
            value: {
                "model": _metrics(y_test[g == value], p_test[g == value], 0.5),
                "baseline": _metrics(y_test[g == value], rules[idx_test][g == value], rule_cutoff),
                "previous": _metrics(y_test[g == value], p_test_previous[g == value], 0.5),
            }
            for value in sorted(set(groups))
        }

    metrics: dict[str, Any] = {
        "model": model_m,
        "baseline": base_m,
        "previous": previous_m,
        "baseline_cutoff": rule_cutoff,
        "decision": "good when the calibrated P(good) >= 0.5",
        "n_train": int(len(idx_train)),
        "n_extra": len(extra_rows),
        "n_test": int(len(idx_test)),
        "n_terms": len(params.wording.terms) if params.wording else 0,
        "share_good": round(float(y.mean()), 4),
        "seed": SEED,
        "review_threshold": review_threshold,
        "slices": slice_metrics,
    }
    if evaluate_on:
        live_rows = [fx.extract(e.input["title"], e.input["body"]) for e in evaluate_on]
        live_texts = [text_of(e.input["title"], e.input["body"]) for e in evaluate_on]
        y_live = np.array([e.label == "good" for e in evaluate_on], dtype=int)
        live_rules = np.array([rule_score(r) for r in live_rows])
        metrics["live_holdout"] = {
            "model": _metrics(y_live, p_good(live_texts, live_rows), 0.5),
            "baseline": _metrics(y_live, live_rules, rule_cutoff),
        }
    # The drift reference: the training split's raw features (as logged at serving
    # time, before log1p and scaling) and its out-of-fold wording share: in-sample,
    # the wording of questions the model was fitted on is more extreme than any new
    # question's, and drift would flag every live window.
    n = len(idx_train)
    raw_train = np.array([[rows[i][name] for name in names] for i in idx_train])
    reference_values = np.column_stack([raw_train, calib_a * oof_wording[:n]])
    reference = sample_reference(
        (*names, WORDING),
        reference_values,
        LABELS,
        lambda m: _two_class(_p_good_from_logged(params, m)),
    )
    return artifact(params, data_hash, metrics, render_report(metrics), reference)


def _wording_part(pipeline: Pipeline, table: np.ndarray) -> np.ndarray:
    """The raw log-odds share of the TF-IDF columns (the first `n_terms` columns)."""
    columns = pipeline.named_steps["columns"]
    n_terms = len(columns.named_transformers_["wording"].vocabulary_)
    coef = pipeline.named_steps["logreg"].coef_[0][:n_terms]
    out: np.ndarray = columns.transform(table)[:, :n_terms] @ coef
    return out


def _params(
    pipeline: Pipeline,
    calib_a: float,
    calib_b: float,
    review_threshold: float,
    fallback_a: float,
    fallback_b: float,
) -> LinearParams:
    columns = pipeline.named_steps["columns"]
    vectorizer = columns.named_transformers_["wording"]
    scaler = columns.named_transformers_["writing"]
    logreg = pipeline.named_steps["logreg"]
    terms = tuple(str(t) for t in vectorizer.get_feature_names_out())
    coef = logreg.coef_[0]
    return LinearParams(
        feature_names=fx.FEATURE_NAMES,
        mean=scaler.mean_,
        scale=scaler.scale_,
        coef=coef[len(terms) :],
        intercept=float(logreg.intercept_[0]),
        calib_a=calib_a,
        calib_b=calib_b,
        review_threshold=review_threshold,
        fallback_a=fallback_a,
        fallback_b=fallback_b,
        wording=Wording(terms, vectorizer.idf_.copy(), coef[: len(terms)].copy()),
    )


def _features(predictor: MlEditorPredictor, text: str, raw: dict[str, float]) -> dict[str, float]:
    """The served features (`MlEditorPredictor.features`) of a question whose writing
    features and text are known."""
    assert predictor.params.wording is not None
    return {**raw, WORDING: predictor.params.calib_a * predictor.params.wording.score(text)}


def _p_good_from_logged(params: LinearParams, logged: np.ndarray) -> np.ndarray:
    """P(good) of rows of logged features (the writing features, then the wording share)."""
    Z = (_design(logged[:, :-1], params.feature_names) - params.mean) / params.scale
    logit = params.calib_a * (Z @ params.coef + params.intercept) + params.calib_b
    return _sigmoid(logit + logged[:, -1])


def _design(raw: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    return np.vstack([design_row(dict(zip(names, r, strict=True)), names) for r in raw])


def _two_class(p_good: np.ndarray) -> np.ndarray:
    return np.column_stack([1.0 - p_good, p_good])


def render_report(m: dict[str, Any]) -> str:
    """The test-split table (rule baseline, the writing-features-only model the ML
    Editor served before, this model) and its per-site slice: what `tandem train`
    prints and the model card carries."""
    extra = f", plus {m['n_extra']} labelled by people" if m.get("n_extra") else ""
    has_previous = "previous" in m
    head = "| metric | rule baseline |" + (" previous model |" if has_previous else "") + " model |"
    lines = [
        f"ML Editor - test split of {m['n_test']} questions (train {m['n_train']}{extra}, "
        f"seed {m['seed']})",
        "",
        head,
        "|---|---|" + ("---|" if has_previous else "") + "---|",
    ]
    for key in ("roc_auc", "f1_macro", "f1_good", "accuracy", "brier"):
        cells = [_cell(m["baseline"].get(key))]
        if has_previous:
            cells.append(_cell(m["previous"].get(key)))
        cells.append(_cell(m["model"].get(key)))
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    if "decision" in m:
        lines.append(f"\nlabels: {m['decision']}; rule baseline: score >= {m['baseline_cutoff']}")
    sites = m.get("slices", {}).get("site", {})
    if sites:
        lines += [
            "",
            "ROC-AUC / F1 good per site:",
            "",
            "| site | n | rule baseline | "
            + ("previous model | " if has_previous else "")
            + "model |",
            "|---|---|---|" + ("---|" if has_previous else "") + "---|",
        ]
        for site, v in sites.items():
            cells = [_pair(v["baseline"])]
            if has_previous and "previous" in v:
                cells.append(_pair(v["previous"]))
            cells.append(_pair(v["model"]))
            lines.append(f"| {site} | {v['model']['n']} | " + " | ".join(cells) + " |")
    if "live_holdout" in m:
        live = m["live_holdout"]
        lines.append(
            f"\nlive holdout ({live['model']['n']} reviewed items): accuracy "
            f"baseline {live['baseline']['accuracy']:.4f}, model {live['model']['accuracy']:.4f}"
        )
    lines.append("")
    lines.append(f"default review threshold (confidence): {m['review_threshold']}")
    return "\n".join(lines)


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _pair(m: dict[str, Any]) -> str:
    return f"{_cell(m.get('roc_auc'))} / {_cell(m.get('f1_good'))}"
