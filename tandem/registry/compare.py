"""Production vs a candidate, on live traffic: the evidence an approver looks at."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tandem.errors import Conflict
from tandem.models.interface import Predictor
from tandem.models.scoring import score_logged
from tandem.registry.training_labels import evaluation_set, record_of
from tandem.store.registry_store import RegistryStore

DISAGREEMENTS_SHOWN = 50


def _latency(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50_ms": None, "p95_ms": None}
    arr = np.asarray(values)
    return {
        "p50_ms": round(float(np.percentile(arr, 50)), 3),
        "p95_ms": round(float(np.percentile(arr, 95)), 3),
    }


def _accuracy(hits: list[bool]) -> float | None:
    return round(sum(hits) / len(hits), 4) if hits else None


def compare(
    store: RegistryStore, name: str, production: Predictor, candidate: Predictor
) -> dict[str, Any]:
    """Agreement and latency from the candidate's shadow results; accuracy of both on
    the labelled items neither was trained on (holdout items, and items first labelled
    after a retrained version's cut-off), each logged input re-scored by both versions."""
    if production.version == candidate.version:
        raise Conflict(f"version {candidate.version!r} is the production version itself")
    shadow = store.list_shadow_results(name, candidate.version)
    answered = [s for s in shadow if s.label is not None]
    live = {s.prediction_id: store.get_prediction(s.prediction_id) for s in answered}
    labelled = store.labelled_predictions(name)
    humans = {p.id: lab.label for p, lab in labelled}
    agree = [live[s.prediction_id].label == s.label for s in answered]
    disagreements = [
        {
            "prediction_id": s.prediction_id,
            "input": live[s.prediction_id].input,
            "production": {
                "label": live[s.prediction_id].label,
                "confidence": live[s.prediction_id].confidence,
            },
            "candidate": {"label": s.label, "confidence": s.confidence},
            "human": humans.get(s.prediction_id),
        }
        for s in answered
        if live[s.prediction_id].label != s.label
    ][:DISAGREEMENTS_SHOWN]

    versions = {
        "production": store.get_model_version(name, production.version),
        "candidate": store.get_model_version(name, candidate.version),
    }
    unseen = evaluation_set(labelled, store.first_labelled_at(name), versions)
    prod_hits, cand_hits, holdout_prod, holdout_cand = [], [], [], []
    for p, lab in unseen.items:
        prod_ok = score_logged(production, p.input).ranked(production.labels)[0]["label"]
        cand_ok = score_logged(candidate, p.input).ranked(candidate.labels)[0]["label"]
        prod_hits.append(prod_ok == lab.label)
        cand_hits.append(cand_ok == lab.label)
        if p.holdout:
            holdout_prod.append(prod_ok == lab.label)
            holdout_cand.append(cand_ok == lab.label)
    return {
        "model": name,
        "production": production.version,
        "candidate": candidate.version,
        "shadow_scored": len(shadow),
        "shadow_errors": len(shadow) - len(answered),
        "agreement": _accuracy(agree),
        "labelled_items": len(prod_hits),
        "accuracy": {"production": _accuracy(prod_hits), "candidate": _accuracy(cand_hits)},
        "evaluation_items": {"production": len(prod_hits), "candidate": len(cand_hits)},
        "evaluation": unseen.summary(),
        "training_labels": {side: record_of(mv) for side, mv in versions.items()},
        "holdout_items": len(holdout_prod),
        "holdout_accuracy": {
            "production": _accuracy(holdout_prod),
            "candidate": _accuracy(holdout_cand),
        },
        "latency": {
            "production": _latency([live[s.prediction_id].latency_ms for s in answered]),
            "candidate": _latency([s.latency_ms for s in answered]),
        },
        "disagreements": disagreements,
    }


def evidence(
    store: RegistryStore, load: Callable[[str, str], Predictor], name: str, version: str
) -> dict[str, Any]:
    """What an approver sees before promoting `version`: both versions' test metrics
    and, when another version is in production, the live comparison. `load` gives a
    served version's predictor by name and version."""
    candidate = store.get_model_version(name, version)
    current = store.production_version(name)
    keys = ("model", "baseline", "live_holdout")
    found: dict[str, Any] = {
        "candidate_metrics": {k: candidate.metrics.get(k) for k in keys},
        "candidate_training_labels": record_of(candidate),
    }
    if current is not None and current.version != version:
        found["production_metrics"] = {k: current.metrics.get(k) for k in keys}
        comparison = compare(store, name, load(name, current.version), load(name, version))
        comparison.pop("disagreements")
        found["comparison"] = comparison
    return found
