"""The no-code path: a saved scikit-learn classifier (or pipeline) served as-is.

The artifact is a JSON envelope holding the schema, the joblib bytes and the fallback
(a rule, or a second saved model's bytes), so the one content hash covers all of them.
Explanations: exact per-feature terms for a bare linear model; otherwise occlusion in
log-odds (see `occlusion`). joblib files are pickles: register only files you trust;
the hash check then guarantees the served file is the one registered."""

from __future__ import annotations

import base64
import io
import json
import logging
import warnings
from contextlib import suppress
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, create_model

from tandem.domain import Contribution
from tandem.errors import InvalidInput
from tandem.models.artifacts import MAX_ARTIFACT_BYTES, sha256
from tandem.models.interface import (
    FallbackAnswer,
    ModelFamily,
    Predictor,
    Progress,
    TrainedArtifact,
)
from tandem.models.reference_sample import ReferenceSample, read_labelled_rows, sample_reference
from tandem.models.sklearn_fallback import CHOICES, UNIFORM, is_rule, rule, rule_answer

FORMAT = "tandem.sklearn/1"
MAX_LABEL = 100
"""The longest class label: what a prediction's, a decision's and a feedback's label hold."""
FEATURE_KINDS = {"number": float, "integer": int}
LOG_ODDS_FLOOR = 1e-6
"""In log-odds, a probability below the floor counts as the floor, so a certain answer
(a forest's 1.0) has finite log-odds: without a reference, odds past a million to one
count as a million to one; with one, see `log_odds_floor`."""
FLOOR_RANGE = (1e-9, 0.05)
log = logging.getLogger("tandem")


def read_schema(path: Path) -> dict[str, Any]:
    """`{"features": {"name": "number" | "integer", ...}, "baseline": {...}?,
    "review_threshold": 0.6?}`: the input fields, in the model's column order."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"cannot read schema {path}: {exc}") from exc
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, dict) or not features:
        raise InvalidInput(
            f"schema {path} needs a non-empty 'features' object: "
            '{"features": {"sepal_length": "number", ...}}'
        )
    bad = {k: v for k, v in features.items() if v not in FEATURE_KINDS}
    if bad:
        raise InvalidInput(f"schema {path}: feature kinds must be 'number' or 'integer', got {bad}")
    return dict(doc)


def _load_estimator(model_bytes: bytes) -> Any:
    import joblib

    try:
        estimator = joblib.load(io.BytesIO(model_bytes))
    except Exception as exc:  # a pickle can fail in many ways; all mean "not a model"
        raise InvalidInput(f"the file is not a saved scikit-learn model ({exc})") from None
    if not hasattr(estimator, "predict_proba") or not hasattr(estimator, "classes_"):
        raise InvalidInput(f"{type(estimator).__name__} is not a classifier with predict_proba")
    return estimator


def _checked_estimator(model_bytes: bytes, n_features: int) -> Any:
    """The saved classifier, once it has scored a row of `n_features` numbers."""
    estimator = _load_estimator(model_bytes)
    n = getattr(estimator, "n_features_in_", n_features)
    if n != n_features:
        raise InvalidInput(f"the model expects {n} features but the schema lists {n_features}")
    try:
        estimator.predict_proba(np.zeros((1, n)))
    except Exception as exc:
        raise InvalidInput(f"the model cannot score a row of {n} numbers: {exc}") from None
    return estimator


def _read_model(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_ARTIFACT_BYTES:  # refused before it is read
            raise InvalidInput(
                f"{path} is {path.stat().st_size:,} bytes; Tandem keeps "
                f"artifacts of at most {MAX_ARTIFACT_BYTES:,} bytes (1 GiB)"
            )
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read model file {path}: {exc}") from exc


def package(
    model_path: Path,
    schema_path: Path,
    reference_path: Path | None = None,
    fallback: str | None = None,
) -> TrainedArtifact:
    """Check a saved model against its schema and wrap both as one artifact; with
    `reference_path` (CSV, JSON or NPY of feature rows, e.g. the training data, with
    an optional `label` column), also the drift reference. `fallback`: a rule
    (`sklearn_fallback`) or the path of a second saved model with the same features;
    None: the default rule."""
    model_bytes = _read_model(model_path)
    schema = read_schema(schema_path)
    columns = list(schema["features"])
    estimator = _checked_estimator(model_bytes, len(columns))
    labels = [str(c) for c in estimator.classes_]
    if too_long := [label for label in labels if len(label) > MAX_LABEL]:
        # Every prediction stores its label (and reviewers pick labels) in 100 characters.
        raise InvalidInput(
            f"class labels must be at most {MAX_LABEL} characters; "
            f"{too_long[0][:40]!r}… has {len(too_long[0])}"
        )
    reference, true_labels = None, None
    if reference_path is not None:
        rows = read_labelled_rows(reference_path, columns)
        reference = sample_reference(
            columns,
            rows.values,
            labels,
            estimator.predict_proba,
            source=f"file {reference_path.name}",
        )
        true_labels = rows.labels
    if fallback is None or is_rule(fallback):
        predicted = reference.predicted if reference is not None else None
        fallback_doc = rule(fallback, labels, true_labels, predicted)
    else:
        fallback_doc = _fallback_model(Path(fallback), columns, labels, reference)
    doc = {
        "format": FORMAT,
        "schema": schema,
        "columns": columns,  # the model's column order, kept explicitly
        "labels": labels,
        "baseline": _baseline(schema, columns, reference),
        "fallback": fallback_doc,
        "log_odds_floor": log_odds_floor(estimator, reference),
        "model_sha256": sha256(model_bytes),
        "model": base64.b64encode(model_bytes).decode(),
    }
    return TrainedArtifact(
        json.dumps(doc, sort_keys=True).encode(),
        sha256(model_bytes),
        {
            "kind": "sklearn",
            "estimator": type(estimator).__name__,
            "fallback": fallback_doc["description"],
        },
        reference=reference,
    )


def _baseline(
    schema: dict[str, Any], columns: list[str], reference: ReferenceSample | None
) -> list[float]:
    """What explanations compare each feature with: the schema's `baseline`, else the
    reference's mean (a typical value, where 0 may be far outside the data), else 0."""
    given = schema.get("baseline", {})
    means = np.zeros(len(columns))
    if reference is not None:
        with warnings.catch_warnings():  # an all-blank column: mean NaN, then 0
            warnings.simplefilter("ignore", RuntimeWarning)
            means = np.nan_to_num(np.nanmean(reference.values, axis=0))
    return [
        float(given[f]) if f in given else round(float(m), 6)
        for f, m in zip(columns, means, strict=True)
    ]


def log_odds_floor(estimator: Any, reference: ReferenceSample | None) -> float:
    """Half the smallest non-zero probability the model gives on its reference rows:
    the step its probabilities move in. A forest of 50 trees says 1.0 when every tree
    votes alike, which means "at least 49.5 in 50", not a billion to one; a logistic
    model's probabilities have no step, and its floor is the range's lowest."""
    if reference is None:
        return LOG_ODDS_FLOOR
    probs = np.asarray(estimator.predict_proba(reference.values), dtype=float)
    positive = probs[probs > 0]
    if positive.size == 0:
        return LOG_ODDS_FLOOR
    return float(np.clip(positive.min() / 2, *FLOOR_RANGE))


def _fallback_model(
    path: Path, columns: list[str], labels: list[str], reference: ReferenceSample | None
) -> dict[str, Any]:
    """A second saved model as the fallback: the same features, labels among the model's."""
    try:
        model_bytes = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(
            f"--fallback {path}: no such rule ({CHOICES}), and no model file to read "
            f"({exc.strerror or exc})"
        ) from None
    try:
        estimator = _checked_estimator(model_bytes, len(columns))
    except InvalidInput as exc:
        raise InvalidInput(f"fallback {path.name}: {exc.message}") from None
    own = [str(c) for c in estimator.classes_]
    if unknown := [label for label in own if label not in labels]:
        raise InvalidInput(
            f"fallback {path.name}: label {unknown[0]!r} is not one of the model's labels "
            f"({', '.join(labels)})"
        )
    return {
        "kind": "model",
        "labels": own,
        "description": f"the saved model {path.name} ({type(estimator).__name__})",
        "log_odds_floor": log_odds_floor(estimator, reference),
        "model_sha256": sha256(model_bytes),
        "model": base64.b64encode(model_bytes).decode(),
    }


def occlusion(
    estimator: Any, x: np.ndarray, baseline: np.ndarray, c: int, floor: float = LOG_ODDS_FLOOR
) -> np.ndarray:
    """Each feature's term: how much lower the log-odds of class `c` are when that
    feature alone is set to its baseline (one batched `predict_proba` call).

    In log-odds, not probability: a confident pipeline says 0.9999 and setting a feature
    to its baseline moves that to 0.999, a drop of 0.0009 that shows as +0.00, the same
    for every feature; in log-odds it is 2.3, and the features keep their order. It is
    also the scale a linear model's exact terms are on."""
    occluded = np.repeat(x[None, :], len(x), axis=0)
    occluded[np.arange(len(x)), np.arange(len(x))] = baseline
    probs = np.asarray(estimator.predict_proba(np.vstack([x[None, :], occluded])), dtype=float)
    odds = log_odds(probs, c, floor)
    terms: np.ndarray = odds[0] - odds[1:]
    return terms


def log_odds(probs: np.ndarray, c: int, floor: float = LOG_ODDS_FLOOR) -> np.ndarray:
    """log p_c - log(sum of the other labels' p), row by row, each side at least
    `floor`; from the probabilities themselves, as the others' sum keeps its precision
    where 1 - p_c would round to 0."""
    p = np.maximum(probs[:, c], floor)
    rest = np.maximum(np.delete(probs, c, axis=1).sum(axis=1), floor)
    out: np.ndarray = np.log(p) - np.log(rest)
    return out


class SklearnPredictor(Predictor):
    # Numbers in (the schema allows nothing else), one estimator call out: bounded
    # work, so the model threads serve it and the hop to a worker process is saved.
    isolation = "thread"

    def __init__(self, name: str, version: str, doc: dict[str, Any]) -> None:
        self.name, self.version = name, version
        schema = doc["schema"]
        self.feature_names = tuple(doc["columns"])
        self.labels = tuple(doc["labels"])
        self.review_threshold = float(schema.get("review_threshold", 0.6))
        given = schema.get("baseline", {})
        self.baseline = np.array(
            doc.get("baseline") or [float(given.get(f, 0.0)) for f in self.feature_names]
        )
        fields: dict[str, Any] = {
            f: (FEATURE_KINDS[schema["features"][f]], Field(description=schema["features"][f]))
            for f in self.feature_names
        }
        self.input_schema = create_model(
            f"{name.title().replace('-', '')}Input",
            __config__=ConfigDict(extra="forbid", allow_inf_nan=False),
            **fields,
        )
        self.estimator = _load_estimator(base64.b64decode(doc["model"]))
        self.log_odds_floor = float(doc.get("log_odds_floor", LOG_ODDS_FLOOR))
        coef = getattr(self.estimator, "coef_", None)
        self.linear = coef is not None and not hasattr(self.estimator, "steps")
        # Versions added before fallbacks existed: the rule that needs no reference.
        self.fallback_doc = doc.get("fallback") or rule(UNIFORM, self.labels)
        self.fallback_estimator: Any = None
        if self.fallback_doc["kind"] == "model":
            self.fallback_estimator = _load_estimator(base64.b64decode(self.fallback_doc["model"]))
        # Score the baseline once now: an estimator's first call pays one-time set-up
        # (lazy imports, thread pools) that would otherwise eat the first request's budget.
        with suppress(Exception):  # best effort: a model that cannot score fails on use
            at_baseline = dict(zip(self.feature_names, self.baseline.tolist(), strict=True))
            self.explain(at_baseline, self.labels[0])
            self.predict_proba(at_baseline)
            if self.fallback_estimator is not None:
                self._model_fallback(at_baseline)

    def _row(self, features: dict[str, float]) -> np.ndarray:
        return np.array([[features[f] for f in self.feature_names]], dtype=float)

    def features(self, data: BaseModel) -> dict[str, float]:
        return {f: float(getattr(data, f)) for f in self.feature_names}

    def predict_proba(self, features: dict[str, float]) -> np.ndarray:
        out: np.ndarray = self.estimator.predict_proba(self._row(features))[0]
        return out

    def predict_proba_rows(self, rows: np.ndarray) -> np.ndarray:
        """Many rows (columns in `feature_names` order) in one call: drift references."""
        out: np.ndarray = self.estimator.predict_proba(rows)
        return out

    def explain(self, features: dict[str, float], label: str) -> list[Contribution]:
        x = self._row(features)[0]
        c = self.labels.index(label)
        if self.linear:
            coef = np.asarray(self.estimator.coef_)
            # Binary models keep one row, for the second class.
            w = (coef[0] if c == 1 else -coef[0]) if coef.shape[0] == 1 else coef[c]
            terms = w * (x - self.baseline)
        else:
            terms = occlusion(self.estimator, x, self.baseline, c, self.log_odds_floor)
        return self._contributions(x, terms)

    def fallback(self, data: BaseModel) -> FallbackAnswer:
        """The rule or the second saved model chosen at `tandem models add`; a fallback
        model that fails too leaves the answer to the uniform rule."""
        features = self.features(data)
        if self.fallback_estimator is None:
            return rule_answer(self.fallback_doc, features)
        try:
            return self._model_fallback(features)
        except Exception as exc:  # the fallback model's own failure, whatever it is
            log.warning("the fallback model of %s %s failed: %r", self.name, self.version, exc)
            return rule_answer(rule(UNIFORM, self.labels), features)

    def _model_fallback(self, features: dict[str, float]) -> FallbackAnswer:
        """The second model's probabilities, put in this model's label order (it may
        know fewer labels), explained by occlusion like the model's own."""
        x = self._row(features)
        own = self.fallback_doc["labels"]
        scored = np.asarray(self.fallback_estimator.predict_proba(x), dtype=float)[0]
        probabilities = np.zeros(len(self.labels))
        probabilities[[self.labels.index(label) for label in own]] = scored
        c = int(np.argmax(scored))
        floor = float(self.fallback_doc.get("log_odds_floor", LOG_ODDS_FLOOR))
        terms = occlusion(self.fallback_estimator, x[0], self.baseline, c, floor)
        return FallbackAnswer(features, probabilities, self._contributions(x[0], terms))

    def _contributions(self, x: np.ndarray, terms: np.ndarray) -> list[Contribution]:
        out = [
            Contribution(f, float(v), round(float(t), 6))
            for f, v, t in zip(self.feature_names, x, terms, strict=True)
        ]
        out.sort(key=lambda item: abs(item.contribution), reverse=True)
        return out


class SklearnFamily(ModelFamily):
    """A model added with `tandem models add NAME --sklearn FILE --schema FILE`."""

    input_schema = BaseModel

    def __init__(self, name: str) -> None:
        self.name = name

    def train(
        self,
        data_dir: Path | None,
        progress: Progress | None = None,
        extra: Any = None,
        evaluate_on: Any = None,
    ) -> TrainedArtifact:
        raise InvalidInput(
            f"{self.name!r} was added as a saved scikit-learn model; train it "
            "where it was made and add the new file with `tandem models add`"
        )

    def load(self, content: bytes, version: str) -> Predictor:
        doc = json.loads(content)
        if doc.get("format") != FORMAT:
            raise InvalidInput(f"artifact of {self.name!r} is not a tandem.sklearn artifact")
        return SklearnPredictor(self.name, version, doc)
