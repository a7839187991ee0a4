"""The ML Editor classifier as served: one calibrated logistic regression over the
writing features and the question's word TF-IDF, scored with NumPy straight from
its coefficients.

Why not sklearn's predict_proba at serving time: one row costs ~175 µs there and
~2 µs as a dot product, and the coefficients give exact per-feature
contributions, so the explanation is the model itself, not an approximation: each
writing feature has its own share of the log-odds and the words share one group,
"wording" (its terms' shares are in `MlEditorPredictor.wording_terms`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel

from tandem.domain import Contribution, Highlight, Suggestion
from tandem.models.interface import FallbackAnswer, Predictor
from tandem_examples.ml_editor import features as fx
from tandem_examples.ml_editor import highlights as hl
from tandem_examples.ml_editor import suggestions
from tandem_examples.ml_editor.baseline import RULES, rule_score
from tandem_examples.ml_editor.schema import Question
from tandem_examples.ml_editor.wording import Wording, join, text_of

LABELS = ("poor", "good")
FORMAT = "tandem.ml-editor.calibrated-logreg/2"
FORMATS = ("tandem.ml-editor.calibrated-logreg/1", FORMAT)
"""Versions trained before the wording group (format /1) still load and score."""
WORDING = "wording"
"""The feature holding the wording group's share of the calibrated log-odds."""

# Counts are skewed (a few 3,000-word questions); log1p keeps them from dominating.
LOG_FEATURES = frozenset(
    {
        "title_words",
        "body_words",
        "paragraphs",
        "code_blocks",
        "links",
        "question_marks_in_body",
        "vague_words",
        "pleasantries",
        "shouting_words",
    }
)


@dataclass(frozen=True)
class LinearParams:
    feature_names: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray  # log-odds of "good" per standardized feature
    intercept: float
    calib_a: float  # Platt scaling of the raw score, fitted out-of-fold
    calib_b: float
    review_threshold: float
    fallback_a: float = 0.0  # Platt scaling of the rule score, for the fallback
    fallback_b: float = 0.0
    wording: Wording | None = None  # None: a version trained on writing features only

    def to_json(self, extra: dict[str, Any]) -> bytes:
        doc = {
            "format": FORMAT if self.wording else FORMATS[0],
            "labels": list(LABELS),
            "feature_names": list(self.feature_names),
            "log_features": sorted(LOG_FEATURES & set(self.feature_names)),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            "calib_a": self.calib_a,
            "calib_b": self.calib_b,
            "review_threshold": self.review_threshold,
            "fallback_a": self.fallback_a,
            "fallback_b": self.fallback_b,
            **extra,
        }
        if self.wording is None:
            return json.dumps(doc, sort_keys=True, indent=1).encode()
        # Compact: the vocabulary is thousands of terms.
        doc["wording"] = self.wording.to_doc()
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, content: bytes) -> tuple[LinearParams, dict[str, Any]]:
        doc = json.loads(content)
        if doc.get("format") not in FORMATS:
            raise ValueError(f"not an ML Editor artifact (format {doc.get('format')!r})")
        params = cls(
            feature_names=tuple(doc["feature_names"]),
            mean=np.asarray(doc["mean"], dtype=float),
            scale=np.asarray(doc["scale"], dtype=float),
            coef=np.asarray(doc["coef"], dtype=float),
            intercept=float(doc["intercept"]),
            calib_a=float(doc["calib_a"]),
            calib_b=float(doc["calib_b"]),
            review_threshold=float(doc["review_threshold"]),
            fallback_a=float(doc.get("fallback_a", 0.0)),
            fallback_b=float(doc.get("fallback_b", 0.0)),
            wording=Wording.from_doc(doc["wording"]) if "wording" in doc else None,
        )
        return params, doc


def design_row(features: dict[str, float], names: tuple[str, ...]) -> np.ndarray:
    return np.array(
        [math.log1p(max(features[n], 0.0)) if n in LOG_FEATURES else features[n] for n in names]
    )


class MlEditorPredictor(Predictor):
    name = "ml-editor"
    labels = LABELS
    input_schema = Question
    # Scored on the event loop: ~0.1 ms of Python on a median question (writing features,
    # wording, explanation), ~35 ms on a 50,000-character body of words (the schema's
    # limit), under the 50 ms budget; on a model
    # thread it would hold the GIL just the same, and the hop costs ~70 µs of CPU.
    runs_inline = True

    def __init__(self, params: LinearParams, version: str, doc: dict[str, Any]) -> None:
        self.params = params
        self.version = version
        self.review_threshold = params.review_threshold
        self.metadata = doc

    @property
    def base_logit(self) -> float:
        """The calibrated log-odds of "good" before any feature's share."""
        p = self.params
        return p.calib_a * p.intercept + p.calib_b

    def _logit_parts(self, features: dict[str, float]) -> np.ndarray:
        p = self.params
        z = (design_row(features, p.feature_names) - p.mean) / p.scale
        return p.calib_a * p.coef * z  # per-feature share of the calibrated log-odds

    def _groups(self, features: dict[str, float]) -> list[tuple[str, float]]:
        """(name, share of the calibrated log-odds): each writing feature, then the
        wording group. With the base logit they sum to the logit."""
        parts = self._logit_parts(features)
        out = [(n, float(c)) for n, c in zip(self.params.feature_names, parts, strict=True)]
        if self.params.wording is not None:
            out.append((WORDING, features[WORDING]))
        return out

    def features(self, data: BaseModel) -> dict[str, float]:
        assert isinstance(data, Question)
        text = fx.to_text(data.body)
        out = fx.extract_from(data.title, data.body, text)
        wording = self.params.wording
        if wording is not None:
            out[WORDING] = self.params.calib_a * wording.score(join(data.title, text))
        return out

    def predict_proba(self, features: dict[str, float]) -> np.ndarray:
        logit = math.fsum(c for _n, c in self._groups(features)) + self.base_logit
        good = 1.0 / (1.0 + math.exp(-logit))
        return np.array([1.0 - good, good])

    def explain(self, features: dict[str, float], label: str) -> list[Contribution]:
        sign = 1.0 if label == "good" else -1.0
        out = [
            Contribution(name, features[name], round(sign * c, 6))
            for name, c in self._groups(features)
        ]
        out.sort(key=lambda c: abs(c.contribution), reverse=True)
        return out

    def wording_terms(self, data: Question, label: str = "good") -> list[Contribution]:
        """Every known word of the question with its share of the wording group (toward
        `label`), largest |share| first; they sum to the group's contribution."""
        wording = self.params.wording
        if wording is None:
            return []
        sign = self.params.calib_a * (1.0 if label == "good" else -1.0)
        text = text_of(data.title, data.body)
        weights = wording.weights(text)
        out = [
            Contribution(wording.terms[i], round(w, 6), sign * float(wording.coef[i]) * w)
            for i, w in weights.items()
        ]
        out.sort(key=lambda c: abs(c.contribution), reverse=True)
        return out

    def sentence_scores(self, data: Question, label: str = "good") -> list[tuple[str, float]]:
        """Each sentence (title first) with its share of the wording group toward
        `label`: what a page highlights. They sum to the group's contribution (sentences
        past the wording's first MAX_CHARS characters have none and are left out)."""
        wording = self.params.wording
        if wording is None:
            return []
        sign = self.params.calib_a * (1.0 if label == "good" else -1.0)
        text = text_of(data.title, data.body)
        return [(s, sign * share) for s, share in wording.by_sentence(text)]

    def _pulls(self, features: dict[str, float]) -> dict[str, float]:
        """Each writing feature's share of the `good` log-odds, and the wording's."""
        return dict(self._groups(features))

    def suggest(
        self, features: dict[str, float], label: str, data: BaseModel | None = None
    ) -> list[Suggestion]:
        question = data if isinstance(data, Question) else None
        typical = self.metadata.get("typical")
        return suggestions.suggest(features, self._pulls(features), question, typical)

    def highlights(self, data: BaseModel) -> list[Highlight]:
        assert isinstance(data, Question)
        good = lambda f: float(self.predict_proba(f)[1])  # noqa: E731
        extract = lambda title, body: self.features(Question(title=title, body=body))  # noqa: E731
        return hl.highlights(data.title, data.body, good, self._pulls, extract)

    def fallback(self, data: BaseModel) -> FallbackAnswer:
        """The rule baseline: no learned weights beyond one calibration, and every
        rule an editor can check by eye."""
        assert isinstance(data, Question)
        features = fx.extract(data.title, data.body)
        p = self.params
        good = 1.0 / (1.0 + math.exp(-(p.fallback_a * rule_score(features) + p.fallback_b)))
        probs = np.array([1.0 - good, good])
        label = LABELS[int(np.argmax(probs))]
        share = 1.0 / len(RULES)
        explanation = [
            Contribution(
                f"rule: {name}",
                float(rule(features)),
                round(
                    (share if rule(features) else -share) * (1.0 if label == "good" else -1.0), 6
                ),
            )
            for name, rule in RULES
        ]
        advice = suggestions.suggest(features, {}, data)
        return FallbackAnswer(features, probs, explanation, advice)
