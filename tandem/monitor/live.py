"""Logged features as columns: what drift compares with a reference."""

from __future__ import annotations

import numpy as np

from tandem.store.prediction_log import PredictionFilter, PredictionReads


def feature_columns(store: PredictionReads, where: PredictionFilter) -> dict[str, np.ndarray]:
    """One float array per feature over the logged predictions `where` selects
    (a feature missing from a row counts as NaN, which drift drops and reports)."""
    predictions = store.list_predictions(where)
    names = sorted({name for p in predictions for name in p.features})
    return {
        name: np.array([p.features.get(name, np.nan) for p in predictions], dtype=float)
        for name in names
    }
