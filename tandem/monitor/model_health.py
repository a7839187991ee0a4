"""Drift and live quality of one model, as the API and the pages ask for them: the
TANDEM_DRIFT_* settings (thresholds, rows, default window) applied in one place,
over the monitoring store."""

from __future__ import annotations

from datetime import datetime, timedelta

from tandem.monitor.agreement import ReviewerStats, reviewer_stats
from tandem.monitor.model_drift import ModelDrift, drift_config, drift_for
from tandem.monitor.quality import PredictorFor, QualityReport, quality_over_time
from tandem.settings import Settings
from tandem.store.monitoring_store import MonitoringStore


class ModelHealth:
    def __init__(
        self, store: MonitoringStore, settings: Settings, load: PredictorFor | None = None
    ) -> None:
        """`load` gives a version's predictor, for the rule baseline in quality reports."""
        self._store = store
        self._settings = settings
        self._load = load

    def models(self) -> list[str]:
        """The registered models, sorted: the ones there is something to report on."""
        return self._store.model_names()

    def drift(
        self,
        model: str,
        since: datetime | None = None,
        until: datetime | None = None,
        version: str | None = None,
        *,
        psi_threshold: float | None = None,
        ks_pvalue: float | None = None,
        chi2_pvalue: float | None = None,
        psi_bins: int | None = None,
    ) -> ModelDrift:
        """`model`'s live traffic against its version's training reference; a
        threshold left None comes from the settings."""
        s = self._settings
        config = drift_config(
            s,
            psi_threshold=psi_threshold,
            ks_pvalue_threshold=ks_pvalue,
            chi2_pvalue_threshold=chi2_pvalue,
            psi_bins=psi_bins,
        )
        return drift_for(
            self._store,
            model,
            since,
            until,
            config,
            version,
            min_rows=s.drift_min_rows,
            max_rows=s.drift_max_rows,
            default_window=timedelta(hours=s.drift_window_hours),
        )

    def reviewers(
        self, model: str | None, since: datetime | None = None, until: datetime | None = None
    ) -> ReviewerStats:
        """Kappa per model and reviewer pair, seconds per decision per reviewer."""
        return reviewer_stats(self._store, model, since, until)

    def quality(
        self,
        model: str,
        by: str = "day",
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> QualityReport:
        """Model vs rule baseline vs people, per day or week, on labelled items."""
        return quality_over_time(self._store, model, by, since, until, self._load)
