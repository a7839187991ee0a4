"""Drift of a model's live traffic against its version's training reference.

The one entry point pages, the API, the CLI and alert rules call: `drift_for`. It reads
the window's logged features from the store as columns, compares each with the
reference (PSI + KS for numeric features, PSI + chi-square for categorical ones), and
also compares what the model answered: the mix of predicted labels (categorical) and
the confidence (numeric), on the rows the model itself answered (not the fallback).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from tandem.clock import window
from tandem.domain import ModelVersion
from tandem.errors import Conflict
from tandem.monitor.drift import categorical_drift, drift_report, numeric_drift
from tandem.monitor.reference import load_reference
from tandem.monitor.results import DriftConfig, DriftReport, FeatureDrift
from tandem.settings import Settings
from tandem.store.monitoring_store import MonitoringStore
from tandem.store.prediction_log import PredictionFilter

MIN_ROWS = 30
"""Below this many live rows PSI's bins hold a handful of rows each and a single odd
request moves them: the answer is "not enough data", not a statistic."""
MAX_ROWS = 1_000_000
WINDOW = timedelta(days=7)
ROWS_PER_BIN = 25
"""PSI's sampling noise grows with bins / live rows (about (bins - 1) / rows for two
samples of one distribution: 0.3 for 10 bins and 30 rows, over the 0.2 line). Small
windows get fewer bins, so each holds at least this many live rows on average."""


@dataclass(frozen=True, slots=True)
class ModelDrift:
    """Drift of one model version over one window.

    `enough_data` False: fewer than `min_rows` live rows, nothing was compared and
    `message` says so. `drifted` is True when any feature, the predicted-label mix or
    the confidence drifted.
    """

    model: str
    version: str
    since: datetime
    until: datetime
    live_rows: int
    window_rows: int
    reference_rows: int
    reference_source: str
    enough_data: bool
    drifted: bool
    drifted_features: tuple[str, ...]
    message: str
    config: DriftConfig
    min_rows: int
    features: DriftReport | None = None
    predictions: FeatureDrift | None = None
    confidence: FeatureDrift | None = None
    missing_features: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)

    def ranked(self) -> list[FeatureDrift]:
        """Features with the drifted ones first, each group by PSI, largest first."""
        found = list(self.features.features) if self.features else []
        return sorted(found, key=lambda f: (not f.drifted, -f.psi))


def drift_config(settings: Settings, **overrides: Any) -> DriftConfig:
    """Thresholds from the TANDEM_DRIFT_* settings, with per-request overrides."""
    values: dict[str, Any] = {
        "psi_threshold": settings.drift_psi_threshold,
        "psi_bins": settings.drift_psi_bins,
        "ks_pvalue_threshold": settings.drift_ks_pvalue,
        "chi2_pvalue_threshold": settings.drift_chi2_pvalue,
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return DriftConfig(**values)


def drift_for(
    store: MonitoringStore,
    model: str,
    since: datetime | None = None,
    until: datetime | None = None,
    config: DriftConfig | None = None,
    version: str | None = None,
    *,
    min_rows: int = MIN_ROWS,
    max_rows: int = MAX_ROWS,
    default_window: timedelta = WINDOW,
) -> ModelDrift:
    """Compare the window's live traffic of `model` (its production version, or
    `version`) with that version's reference. Raises UnknownModel, NotFound (version),
    MissingReference (no reference: says how to add one) or InvalidInput (window)."""
    config = config or DriftConfig()
    start, end = window(since, until, default_window)
    mv = _version(store, model, version)
    version = mv.version
    stored, reference = load_reference(
        store, model, version, added=mv.metrics.get("kind") == "sklearn"
    )

    began = time.perf_counter()
    live = store.logged_features(
        PredictionFilter(model=model, version=version, since=start, until=end, limit=max_rows),
        reference.feature_names,
    )
    read_s = time.perf_counter() - began
    rows = live.values.shape[0]
    base = ModelDrift(
        model=model,
        version=version,
        since=start,
        until=end,
        live_rows=rows,
        window_rows=live.total,
        reference_rows=reference.rows,
        reference_source=stored.source,
        enough_data=False,
        drifted=False,
        drifted_features=(),
        message="",
        config=config,
        min_rows=min_rows,
        timings={"read_s": round(read_s, 4)},
    )
    if rows < min_rows:
        return replace(
            base,
            message=(
                f"only {rows} live prediction(s) of {model} {version} between "
                f"{start:%Y-%m-%d %H:%M} and {end:%Y-%m-%d %H:%M} UTC; drift needs at least "
                f"{min_rows}: widen the window (since/until) or wait for more traffic"
            ),
        )

    began = time.perf_counter()
    requested = config
    config = _bins_for(config, rows)
    present = ~np.isnan(live.values)
    compared = [n for j, n in enumerate(reference.feature_names) if present[:, j].any()]
    missing = tuple(n for n in reference.feature_names if n not in compared)
    index = {n: j for j, n in enumerate(reference.feature_names)}
    features = drift_report(
        {n: reference.values[:, index[n]] for n in compared},
        {n: live.values[:, index[n]] for n in compared},
        config,
        categorical=[n for n in reference.categorical if n in compared],
    )
    answered = np.array([route != "fallback" for route in live.routes], dtype=bool)
    predictions = confidence = None
    if answered.sum() >= min_rows:
        predictions = categorical_drift(
            "predicted label",
            list(reference.predicted),
            [label for label, keep in zip(live.labels, answered, strict=True) if keep],
            config,
        )
        confidence = numeric_drift(
            "confidence", reference.confidences, live.confidences[answered], config
        )
    stats_s = time.perf_counter() - began

    outputs = [d for d in (predictions, confidence) if d is not None and d.drifted]
    drifted = bool(features.drifted_features) or bool(outputs)
    return replace(
        base,
        enough_data=True,
        drifted=drifted,
        drifted_features=features.drifted_features,
        message=_summary(features, outputs, missing, rows, live.total)
        + (
            f"; PSI on {config.psi_bins} bins, not {requested.psi_bins}: "
            f"{rows} live rows give under {ROWS_PER_BIN} a bin"
            if config.psi_bins != requested.psi_bins
            else ""
        ),
        config=config,
        features=features,
        predictions=predictions,
        confidence=confidence,
        missing_features=missing,
        timings={"read_s": round(read_s, 4), "statistics_s": round(stats_s, 4)},
    )


def _bins_for(config: DriftConfig, rows: int) -> DriftConfig:
    bins = min(config.psi_bins, max(2, rows // ROWS_PER_BIN))
    return config if bins == config.psi_bins else replace(config, psi_bins=bins)


def _version(store: MonitoringStore, model: str, version: str | None) -> ModelVersion:
    versions = store.registered_versions(model)
    if version is not None:
        return store.get_model_version(model, version)
    production = next((v for v in versions if v.status == "production"), None)
    if production is None:
        raise Conflict(f"model {model!r} has no production version; name one with version=")
    return production


def _summary(
    features: DriftReport,
    outputs: list[FeatureDrift],
    missing: tuple[str, ...],
    rows: int,
    total: int,
) -> str:
    parts = []
    if features.drifted_features:
        shown = ", ".join(f"{f.name} (PSI {f.psi:.2f})" for f in features.features if f.drifted)
        parts.append(
            f"{len(features.drifted_features)} of {len(features.features)} "
            f"features drifted: {shown}"
        )
    else:
        parts.append(f"none of {len(features.features)} features drifted")
    parts += [f"the {d.name} distribution drifted (PSI {d.psi:.2f})" for d in outputs]
    if missing:
        parts.append(f"not logged in the window: {', '.join(missing)}")
    if total > rows:
        parts.append(f"compared the newest {rows} of {total} rows")
    return "; ".join(parts)
