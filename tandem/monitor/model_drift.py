"""Drift of a model's live traffic against its version's training reference.

The one entry point pages, the API, the CLI and alert rules call: `drift_for`. It reads
the window's logged features from the store a chunk at a time, counts each chunk
against the reference (PSI bins and KS counts for numeric features, category counts
for categorical ones: see `NumericCounts`), and also compares what the model
answered: the mix of predicted labels (categorical) and the confidence (numeric), on
the rows the model itself answered (not the fallback). Memory holds a chunk and the
counts, not the window: the numbers are those of the whole columns compared at once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from tandem.clock import window
from tandem.domain import ModelVersion
from tandem.errors import Conflict, InvalidInput
from tandem.models.reference_sample import ReferenceSample
from tandem.monitor.drift import MAX_WORKERS, CategoricalCounts, NumericCounts
from tandem.monitor.reference import load_reference
from tandem.monitor.results import DriftConfig, DriftReport, FeatureDrift
from tandem.settings import Settings
from tandem.store.monitoring_store import MonitoringStore
from tandem.store.prediction_log import PredictionFilter

if TYPE_CHECKING:
    from tandem.store.feature_blocks import Chunk

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
    """The window held `window_rows` logged predictions; drift read the newest
    `live_rows` of them (at most the max_rows limit)."""
    reference_rows: int
    reference_source: str
    enough_data: bool
    drifted: bool
    drifted_features: tuple[str, ...]
    message: str
    config: DriftConfig
    """The thresholds applied: the requested ones, with fewer PSI bins when the live rows
    are too few for them (ROWS_PER_BIN; `message` then says so)."""
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
    live = store.logged_feature_chunks(
        PredictionFilter(model=model, version=version, since=start, until=end, limit=max_rows),
        reference.feature_names,
    )
    read_s = time.perf_counter() - began
    base = ModelDrift(
        model=model,
        version=version,
        since=start,
        until=end,
        live_rows=live.rows,
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
    if live.rows < min_rows:
        close = getattr(live.chunks, "close", None)
        if close is not None:
            close()
        return replace(
            base,
            message=(
                f"only {live.rows} live prediction(s) of {model} {version} between "
                f"{start:%Y-%m-%d %H:%M} and {end:%Y-%m-%d %H:%M} UTC; drift needs at least "
                f"{min_rows}: widen the window (since/until) or wait for more traffic"
            ),
        )

    began = time.perf_counter()
    requested = config
    config = _bins_for(config, live.rows)
    counted = _count(reference, live.chunks, config)
    read_s += counted.read_s
    rows = counted.rows
    compared = [n for n in reference.feature_names if counted.features[n].present]
    missing = tuple(n for n in reference.feature_names if n not in compared)
    features = DriftReport.of([counted.features[n].result() for n in compared], config)
    predictions = confidence = None
    if counted.answered >= min_rows:
        predictions = counted.predicted.result()
        confidence = counted.confidence.result()
    stats_s = time.perf_counter() - began - counted.read_s

    outputs = [d for d in (predictions, confidence) if d is not None and d.drifted]
    drifted = bool(features.drifted_features) or bool(outputs)
    return replace(
        base,
        live_rows=rows,
        enough_data=True,
        drifted=drifted,
        drifted_features=features.drifted_features,
        message=_summary(features, outputs, missing, rows, live.total)
        + (
            f"; PSI on {config.psi_bins} bins, not {requested.psi_bins}: "
            f"{live.rows} live rows give under {ROWS_PER_BIN} a bin"
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


class _Counts:
    """One drift statistic's live counts, or why its reference cannot be compared: that
    is raised only if the feature turns out to be logged in the window, as comparing
    the whole columns raised it only then."""

    def __init__(self, build: Callable[[], NumericCounts | CategoricalCounts]) -> None:
        self.counts: NumericCounts | CategoricalCounts | None = None
        self.error: InvalidInput | None = None
        try:
            self.counts = build()
        except InvalidInput as exc:
            self.error = exc
        self.present = False

    def add(self, values: Any) -> None:
        if self.counts is None:
            self.present = self.present or bool((~np.isnan(values)).any())
            return
        self.counts.add(values)
        self.present = self.present or self.counts.size > 0

    def result(self) -> FeatureDrift:
        if self.counts is None:
            assert self.error is not None
            raise self.error
        return self.counts.result()


@dataclass
class _Counted:
    features: dict[str, _Counts]
    predicted: _Counts
    confidence: _Counts
    rows: int = 0
    answered: int = 0
    read_s: float = 0.0


def _add(counts: _Counts, chunk: Chunk, name: str) -> None:
    counts.add(chunk.column(name))


def _count(reference: ReferenceSample, chunks: Iterator[Chunk], config: DriftConfig) -> _Counted:
    """Count every chunk into each feature's counts, the columns shared by a thread pool
    (numpy's sort and searchsorted release the GIL) while the next chunk is read."""
    index = {n: j for j, n in enumerate(reference.feature_names)}
    categorical = set(reference.categorical)

    def build(name: str) -> _Counts:
        column = reference.values[:, index[name]]
        if name in categorical:
            return _Counts(lambda: CategoricalCounts(name, column, config))
        return _Counts(lambda: NumericCounts(name, column, config))

    counted = _Counted(
        features={n: build(n) for n in reference.feature_names},
        predicted=_Counts(
            lambda: CategoricalCounts("predicted label", list(reference.predicted), config)
        ),
        confidence=_Counts(lambda: NumericCounts("confidence", reference.confidences, config)),
    )
    names = list(reference.feature_names)
    workers = min(len(names), os.cpu_count() or 1, MAX_WORKERS)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="drift") as pool:
        pending: list[Future[None]] = []
        try:
            while True:
                began = time.perf_counter()
                chunk = next(chunks, None)
                counted.read_s += time.perf_counter() - began
                for done in pending:
                    done.result()
                if chunk is None:
                    break
                pending = [pool.submit(_add, counted.features[n], chunk, n) for n in names]
                answered = chunk.routes != "fallback"
                counted.rows += chunk.rows
                counted.answered += int(answered.sum())
                counted.predicted.add(chunk.labels[answered])
                counted.confidence.add(chunk.confidences[answered])
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
    return counted


def _bins_for(config: DriftConfig, rows: int) -> DriftConfig:
    bins = min(config.psi_bins, max(2, rows // ROWS_PER_BIN))
    return config if bins == config.psi_bins else replace(config, psi_bins=bins)


def production_or(store: MonitoringStore, model: str, version: str | None) -> str:
    """`version` (NotFound when it is not registered), or the model's production one
    (Conflict when there is none)."""
    return _version(store, model, version).version


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
