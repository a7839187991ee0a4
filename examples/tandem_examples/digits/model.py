"""The digits classifier as served: a temperature-calibrated multinomial logistic
regression scored with NumPy straight from its coefficients, and a nearest-centroid
fallback that needs nothing but the mean image of each digit.

Explanations are exact, not approximations. For an input x (pixels / 16), logits
z_k = W_k . x + b_k and probabilities p = softmax(z). For a label c, let q be the
probabilities of the *other* classes renormalised to sum to 1 (q_k = p_k / (1 - p_c),
k != c). Pixel j's contribution is

    x_j * (W_cj - sum_{k != c} q_k W_kj)

and the 64 contributions plus `intercept_share` (b_c - sum q_k b_k) add up exactly to
z_c - sum q_k z_k = sum_{k != c} q_k log(p_c / p_k): the label's log-odds against the
other digits, averaged with the weight each rival has. Positive: this pixel's ink is
evidence for the label over its rivals; negative: for the rivals. A blank pixel
(x_j = 0) contributes 0, so the map shows where ink helped or hurt, not where missing
ink would have. Renormalising over the rivals (rather than weighting by p itself,
label included) keeps a confident prediction's map from fading to zero.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel

from tandem.domain import Contribution
from tandem.models.interface import FallbackAnswer, ImageView, Predictor
from tandem_examples.digits.schema import MAX_VALUE, N_PIXELS, SIDE, Digit

LABELS = tuple(str(d) for d in range(10))
FORMAT = "tandem.digits.calibrated-softmax/1"
FEATURE_NAMES = tuple(f"px_r{r}_c{c}" for r in range(SIDE) for c in range(SIDE))
"""Row-major, like the input: FEATURE_NAMES[8 * row + col] is pixels[8 * row + col]."""
CENTROID_TEMPERATURE = 2.0
"""Softmax temperature of the fallback over negative Euclidean distances, in raw 0-16
pixel units. Fixed, not fitted: on the training split, 1 is overconfident and 4
underconfident; 2 gives a log loss near 0.3 (see the report)."""


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax along the last axis, stable for large logits."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    out: np.ndarray = e / e.sum(axis=-1, keepdims=True)
    return out


def centroid_distances(pixels: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Euclidean distance of each row of raw pixels (n, 64) to each centroid: (n, 10)."""
    diff = pixels[..., None, :] - centroids
    out: np.ndarray = np.sqrt((diff**2).sum(axis=-1))
    return out


def centroid_proba(pixels: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """The fallback's probabilities: softmax of -distance / CENTROID_TEMPERATURE."""
    return softmax(-centroid_distances(pixels, centroids) / CENTROID_TEMPERATURE)


@dataclass(frozen=True)
class DigitParams:
    coef: np.ndarray  # (10, 64) on pixels / 16, already divided by `temperature`
    intercept: np.ndarray  # (10,), already divided by `temperature`
    centroids: np.ndarray  # (10, 64) mean raw image of each digit in the training split
    temperature: float  # fitted out-of-fold; folded into coef and intercept
    review_threshold: float

    def to_json(self, extra: dict[str, Any]) -> bytes:
        doc = {
            "format": FORMAT,
            "labels": list(LABELS),
            "feature_names": list(FEATURE_NAMES),
            "input_scale": MAX_VALUE,
            "coef": self.coef.tolist(),
            "intercept": self.intercept.tolist(),
            "centroids": self.centroids.tolist(),
            "temperature": self.temperature,
            "centroid_temperature": CENTROID_TEMPERATURE,
            "review_threshold": self.review_threshold,
            **extra,
        }
        return json.dumps(doc, sort_keys=True, indent=1).encode()

    @classmethod
    def from_json(cls, content: bytes) -> tuple[DigitParams, dict[str, Any]]:
        try:
            doc = json.loads(content)
        except ValueError:
            doc = None
        fmt = doc.get("format") if isinstance(doc, dict) else None
        if not isinstance(doc, dict) or fmt != FORMAT:
            raise ValueError(f"not a digits artifact (format {fmt!r}, expected {FORMAT!r})")
        params = cls(
            coef=np.asarray(doc["coef"], dtype=float),
            intercept=np.asarray(doc["intercept"], dtype=float),
            centroids=np.asarray(doc["centroids"], dtype=float),
            temperature=float(doc["temperature"]),
            review_threshold=float(doc["review_threshold"]),
        )
        shape = (len(LABELS), N_PIXELS)
        if params.coef.shape != shape or params.centroids.shape != shape:
            raise ValueError("digits artifact has coefficients of the wrong shape")
        return params, doc


def pixel_row(features: dict[str, float]) -> np.ndarray:
    """The raw 0-16 pixels, in FEATURE_NAMES order."""
    return np.array([features[n] for n in FEATURE_NAMES], dtype=float)


class DigitsPredictor(Predictor):
    name = "digits"
    labels = LABELS
    input_schema = Digit
    explanation_size = 64  # every pixel: the review page draws them as a heat map
    input_view = ImageView("pixels", 8, 8, 16.0, FEATURE_NAMES)
    # 64 numbers in, a matrix product out: bounded work whatever the input, so the
    # model threads serve it and the hop to a worker process is saved.
    isolation = "thread"

    def __init__(self, params: DigitParams, version: str, doc: dict[str, Any]) -> None:
        self.params = params
        self.version = version
        self.review_threshold = params.review_threshold
        self.metadata = doc

    def _logits(self, x: np.ndarray) -> np.ndarray:
        out: np.ndarray = self.params.coef @ x + self.params.intercept
        return out

    def _rival_weights(self, z: np.ndarray, c: int) -> np.ndarray:
        """q: the other classes' probabilities renormalised, 0 for the label itself.
        Computed from logits so it stays defined when p_c rounds to 1."""
        masked = z.copy()
        masked[c] = -np.inf
        return softmax(masked)

    def features(self, data: BaseModel) -> dict[str, float]:
        assert isinstance(data, Digit)
        return {n: float(v) for n, v in zip(FEATURE_NAMES, data.pixels, strict=True)}

    def predict_proba(self, features: dict[str, float]) -> np.ndarray:
        return softmax(self._logits(pixel_row(features) / MAX_VALUE))

    def explain(self, features: dict[str, float], label: str) -> list[Contribution]:
        """Per-pixel share of the label's log-odds against its rivals (module docstring)."""
        x = pixel_row(features) / MAX_VALUE
        c = LABELS.index(label)
        q = self._rival_weights(self._logits(x), c)
        parts = x * (self.params.coef[c] - q @ self.params.coef)
        out = [
            Contribution(name, features[name], float(part))
            for name, part in zip(FEATURE_NAMES, parts, strict=True)
        ]
        out.sort(key=lambda k: abs(k.contribution), reverse=True)
        return out

    def intercept_share(self, features: dict[str, float], label: str) -> float:
        """What the intercepts add to `explain`'s sum: b_c - sum_{k != c} q_k b_k."""
        x = pixel_row(features) / MAX_VALUE
        c = LABELS.index(label)
        q = self._rival_weights(self._logits(x), c)
        return float(self.params.intercept[c] - q @ self.params.intercept)

    def rule_fallback(self, features: dict[str, float]) -> np.ndarray:
        """Nearest-centroid probabilities, in `labels` order: no learning beyond the
        mean image of each digit."""
        return centroid_proba(pixel_row(features), self.params.centroids)

    def fallback(self, data: BaseModel) -> FallbackAnswer:
        """The nearest centroid, explained per pixel: how much closer the pixel is to
        the label's mean image than to the runner-up's. The contributions add up to
        log(p_label / p_runner_up) of the fallback's own probabilities."""
        features = self.features(data)
        x = pixel_row(features)
        d = centroid_distances(x, self.params.centroids)
        c = int(np.argmin(d))
        r = min((k for k in range(len(LABELS)) if k != c), key=lambda k: d[k])
        m = self.params.centroids
        closer = (x - m[r]) ** 2 - (x - m[c]) ** 2  # sums to d_r^2 - d_c^2
        parts = closer / (CENTROID_TEMPERATURE * (d[r] + d[c]))
        explanation = [
            Contribution(name, features[name], float(part))
            for name, part in zip(FEATURE_NAMES, parts, strict=True)
        ]
        explanation.sort(key=lambda k: abs(k.contribution), reverse=True)
        return FallbackAnswer(features, centroid_proba(x, m), explanation)
