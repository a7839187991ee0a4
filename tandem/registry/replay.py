"""Replay: re-score logged predictions with any registered version and compare.

Same version, same input → the same output; that is what makes a logged
prediction debuggable after the fact."""

from __future__ import annotations

from typing import Any

from tandem.domain import Prediction
from tandem.models.interface import Predictor
from tandem.models.scoring import score_logged


def replay(prediction: Prediction, predictor: Predictor) -> dict[str, Any]:
    answer = score_logged(predictor, prediction.input)
    ranked = answer.ranked(predictor.labels)
    original = {a["label"]: a["probability"] for a in prediction.alternatives}
    replayed = {a["label"]: a["probability"] for a in ranked}
    shift = max(
        (
            abs(replayed.get(k, 0.0) - original.get(k, 0.0))
            for k in original.keys() | replayed.keys()
        ),
        default=0.0,
    )
    return {
        "prediction_id": prediction.id,
        "original": {
            "version": prediction.model_version,
            "label": prediction.label,
            "confidence": prediction.confidence,
            "route": prediction.route,
            "alternatives": prediction.alternatives,
        },
        "replayed": {
            "version": predictor.version,
            "label": ranked[0]["label"],
            "confidence": ranked[0]["probability"],
            "alternatives": ranked,
            "explanation": [
                {"feature": c.feature, "value": c.value, "contribution": c.contribution}
                for c in answer.explanation
            ],
        },
        "same_label": ranked[0]["label"] == prediction.label,
        "max_probability_change": round(shift, 6),
    }


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(results)
    changed = sum(not r["same_label"] for r in results)
    return {
        "replayed": n,
        "label_changed": changed,
        "agreement": round((n - changed) / n, 4) if n else None,
        "max_probability_change": max((r["max_probability_change"] for r in results), default=0.0),
    }
