"""One prediction, start to finish: validate, score, explain, route, log."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from tandem.domain import Prediction, ReviewItem
from tandem.errors import InvalidInput, UnknownModel
from tandem.ids import new_id
from tandem.models.interface import Predictor
from tandem.review.routing import needs_review
from tandem.store.base import Store

EXPLANATION_SIZE = 10


class PredictionService:
    def __init__(
        self, store: Store, predictors: dict[str, Predictor], review_threshold: float | None
    ) -> None:
        self.store = store
        self.predictors = predictors
        self.review_threshold = review_threshold  # None: each model's own default

    def predictor(self, model: str) -> Predictor:
        try:
            return self.predictors[model]
        except KeyError:
            known = ", ".join(sorted(self.predictors)) or "none loaded"
            raise UnknownModel(f"unknown model {model!r}; served models: {known}") from None

    def threshold(self, predictor: Predictor) -> float:
        if self.review_threshold is not None:
            return self.review_threshold
        return predictor.review_threshold

    def predict(self, model: str, raw_input: dict[str, Any]) -> tuple[Prediction, str | None]:
        """Score `raw_input` and log it before returning (prediction, review id or None)."""
        started = time.perf_counter()
        predictor = self.predictor(model)
        try:
            data = predictor.input_schema.model_validate(raw_input)
        except ValidationError as exc:
            raise InvalidInput(_describe(exc, model)) from exc
        features = predictor.features(data)
        probs = predictor.predict_proba(features)
        order = sorted(range(len(probs)), key=lambda i: -probs[i])
        best = order[0]
        label = predictor.labels[best]
        confidence = float(probs[best])
        explanation = predictor.explain(features, label)[:EXPLANATION_SIZE]
        suggestions = predictor.suggest(features, label)
        reason = needs_review(confidence, self.threshold(predictor))
        prediction = Prediction(
            id=new_id(),
            created_at=datetime.now(UTC),
            model=model,
            model_version=predictor.version,
            input=data.model_dump(mode="json"),
            features=features,
            label=label,
            confidence=round(confidence, 6),
            alternatives=[
                {"label": predictor.labels[i], "probability": round(float(probs[i]), 6)}
                for i in order
            ],
            explanation=[
                {"feature": c.feature, "value": c.value, "contribution": c.contribution}
                for c in explanation
            ],
            suggestions=suggestions,
            route="review" if reason else "model",
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
        )
        review = None
        if reason:
            review = ReviewItem(
                id=new_id(),
                prediction_id=prediction.id,
                status="pending",
                created_at=prediction.created_at,
                reason=reason,
            )
        self.store.add_prediction(prediction, review)
        return prediction, review.id if review else None


def _describe(exc: ValidationError, model: str) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in ("input", *err["loc"]))
        parts.append(f"{where}: {err['msg']}")
    return f"invalid input for model {model!r}: " + "; ".join(parts)
