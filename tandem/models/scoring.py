"""Scoring one input with one predictor: shared by serving, replay and comparison,
so a replayed prediction is computed exactly as the live one was."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel

from tandem.domain import Contribution, suggestion_dict
from tandem.models.interface import Predictor


@dataclass(frozen=True)
class Answer:
    features: dict[str, float]
    probabilities: np.ndarray
    explanation: list[Contribution]
    suggestions: list[dict[str, Any]]
    highlights: list[dict[str, Any]] = field(default_factory=list)

    def ranked(self, labels: tuple[str, ...]) -> list[dict[str, Any]]:
        """Every label with its probability, best first."""
        order = sorted(range(len(self.probabilities)), key=lambda i: -self.probabilities[i])
        return [
            {"label": labels[i], "probability": round(float(self.probabilities[i]), 6)}
            for i in order
        ]


def score(predictor: Predictor, data: BaseModel, highlights: bool = False) -> Answer:
    """`highlights`: also the parts of the input that pull the score down (a draft)."""
    features = predictor.features(data)
    probs = np.asarray(predictor.predict_proba(features), dtype=float)
    label = predictor.labels[int(np.argmax(probs))]
    return Answer(
        features,
        probs,
        predictor.explain(features, label)[: predictor.explanation_size],
        [suggestion_dict(s) for s in predictor.suggest(features, label, data)],
        [h.as_dict() for h in predictor.highlights(data)] if highlights else [],
    )


def score_logged(
    predictor: Predictor, logged_input: dict[str, Any], highlights: bool = False
) -> Answer:
    """Re-score a logged input (validated again: schemas may have changed)."""
    return score(predictor, predictor.input_schema.model_validate(logged_input), highlights)
