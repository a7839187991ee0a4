"""The no-code path: a saved scikit-learn classifier (or pipeline) served as-is.

The artifact is a JSON envelope holding the schema and the joblib bytes, so the one
content hash covers both. Explanations: exact per-feature terms for a bare linear
model; otherwise occlusion — each feature set to its baseline value in one batched
`predict_proba` call, the drop in the predicted label's probability is its
contribution. joblib files are pickles: register only files you trust; the hash
check then guarantees the served file is the one registered."""

from __future__ import annotations

import base64
import io
import json
from contextlib import suppress
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, create_model

from tandem.domain import Contribution
from tandem.errors import InvalidInput
from tandem.models.artifacts import MAX_ARTIFACT_BYTES, sha256
from tandem.models.interface import ModelFamily, Predictor, Progress, TrainedArtifact
from tandem.models.reference_sample import read_rows, sample_reference

FORMAT = "tandem.sklearn/1"
MAX_LABEL = 100
"""The longest class label: what a prediction's, a decision's and a feedback's label hold."""
FEATURE_KINDS = {"number": float, "integer": int}


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


def package(
    model_path: Path, schema_path: Path, reference_path: Path | None = None
) -> TrainedArtifact:
    """Check a saved model against its schema and wrap both as one artifact; with
    `reference_path` (CSV or NPY of feature rows, e.g. the training data), also the
    drift reference."""
    try:
        if model_path.stat().st_size > MAX_ARTIFACT_BYTES:  # refused before it is read
            raise InvalidInput(
                f"{model_path} is {model_path.stat().st_size:,} bytes; Tandem keeps "
                f"artifacts of at most {MAX_ARTIFACT_BYTES:,} bytes (1 GiB)"
            )
        model_bytes = model_path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read model file {model_path}: {exc}") from exc
    schema = read_schema(schema_path)
    estimator = _load_estimator(model_bytes)
    n = getattr(estimator, "n_features_in_", len(schema["features"]))
    if n != len(schema["features"]):
        raise InvalidInput(
            f"the model expects {n} features but the schema lists {len(schema['features'])}"
        )
    try:
        estimator.predict_proba(np.zeros((1, n)))
    except Exception as exc:
        raise InvalidInput(f"the model cannot score a row of {n} numbers: {exc}") from None
    labels = [str(c) for c in estimator.classes_]
    if too_long := [label for label in labels if len(label) > MAX_LABEL]:
        # Every prediction stores its label (and reviewers pick labels) in 100 characters.
        raise InvalidInput(
            f"class labels must be at most {MAX_LABEL} characters; "
            f"{too_long[0][:40]!r}… has {len(too_long[0])}"
        )
    doc = {
        "format": FORMAT,
        "schema": schema,
        "columns": list(schema["features"]),  # the model's column order, kept explicitly
        "labels": labels,
        "model_sha256": sha256(model_bytes),
        "model": base64.b64encode(model_bytes).decode(),
    }
    reference = None
    if reference_path is not None:
        columns = list(schema["features"])
        reference = sample_reference(
            columns,
            read_rows(reference_path, columns),
            [str(c) for c in estimator.classes_],
            estimator.predict_proba,
            source=f"file {reference_path.name}",
        )
    return TrainedArtifact(
        json.dumps(doc, sort_keys=True).encode(),
        sha256(model_bytes),
        {"kind": "sklearn", "estimator": type(estimator).__name__},
        reference=reference,
    )


class SklearnPredictor(Predictor):
    def __init__(self, name: str, version: str, doc: dict[str, Any]) -> None:
        self.name, self.version = name, version
        schema = doc["schema"]
        self.feature_names = tuple(doc["columns"])
        self.labels = tuple(doc["labels"])
        self.review_threshold = float(schema.get("review_threshold", 0.6))
        self.baseline = np.array(
            [float(schema.get("baseline", {}).get(f, 0.0)) for f in self.feature_names]
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
        coef = getattr(self.estimator, "coef_", None)
        self.linear = coef is not None and not hasattr(self.estimator, "steps")
        # Score the baseline once now: an estimator's first call pays one-time set-up
        # (lazy imports, thread pools) that would otherwise eat the first request's budget.
        with suppress(Exception):  # best effort: a model that cannot score fails on use
            at_baseline = dict(zip(self.feature_names, self.baseline.tolist(), strict=True))
            self.explain(at_baseline, self.labels[0])
            self.predict_proba(at_baseline)

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
            occluded = np.repeat(x[None, :], len(x), axis=0)
            occluded[np.arange(len(x)), np.arange(len(x))] = self.baseline
            p = self.estimator.predict_proba(np.vstack([x[None, :], occluded]))[:, c]
            terms = p[0] - p[1:]
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
