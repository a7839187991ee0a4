"""Scoring one input with one predictor: shared by serving, replay and comparison,
so a replayed prediction is computed exactly as the live one was."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel

from tandem.domain import Contribution
from tandem.models.interface import Predictor


@dataclass(frozen=True)
class Answer:
    features: dict[str, float]
    probabilities: np.ndarray
    explanation: list[Contribution]
    suggestions: list[str]

    def ranked(self, labels: tuple[str, ...]) -> list[dict[str, Any]]:
        """Every label with its probability, best first."""
        order = sorted(range(len(self.probabilities)), key=lambda i: -self.probabilities[i])
        return [
            {"label": labels[i], "probability": round(float(self.probabilities[i]), 6)}
            for i in order
        ]


def score(predictor: Predictor, data: BaseModel) -> Answer:
    features = predictor.features(data)
    probs = np.asarray(predictor.predict_proba(features), dtype=float)
    label = predictor.labels[int(np.argmax(probs))]
    return Answer(
        features,
        probs,
        predictor.explain(features, label)[: predictor.explanation_size],
        predictor.suggest(features, label),
    )


def score_logged(predictor: Predictor, logged_input: dict[str, Any]) -> Answer:
    """Re-score a logged input (validated again: schemas may have changed)."""
    return score(predictor, predictor.input_schema.model_validate(logged_input))
