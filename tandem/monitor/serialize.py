"""Monitoring results as plain JSON-ready dicts: one shape for the API and `--json`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from tandem.monitor.model_drift import ModelDrift
from tandem.monitor.quality import PeriodQuality, QualityReport
from tandem.monitor.results import FeatureDrift


def feature_json(f: FeatureDrift) -> dict[str, Any]:
    return {
        "name": f.name,
        "kind": f.kind,
        "drifted": f.drifted,
        "triggered": list(f.triggered),
        "psi": f.psi,
        "ks_statistic": f.ks_statistic,
        "ks_pvalue": f.ks_pvalue,
        "chi2_statistic": f.chi2_statistic,
        "chi2_pvalue": f.chi2_pvalue,
        "reference_size": f.reference_size,
        "live_size": f.live_size,
        "reference_missing": f.reference_missing,
        "live_missing": f.live_missing,
        "checks": [asdict(c) for c in f.checks],
        "notes": list(f.notes),
        "histogram": asdict(f.histogram),
    }


def drift_json(d: ModelDrift) -> dict[str, Any]:
    return {
        "model": d.model,
        "version": d.version,
        "window": {"since": d.since.isoformat(), "until": d.until.isoformat()},
        "live_rows": d.live_rows,
        "window_rows": d.window_rows,
        "reference_rows": d.reference_rows,
        "reference_source": d.reference_source,
        "enough_data": d.enough_data,
        "min_rows": d.min_rows,
        "drifted": d.drifted,
        "drifted_features": list(d.drifted_features),
        "share_drifted": d.features.share_drifted if d.features else None,
        "message": d.message,
        "thresholds": {
            "psi": d.config.psi_threshold,
            "psi_bins": d.config.psi_bins,
            "ks_pvalue": d.config.ks_pvalue_threshold,
            "chi2_pvalue": d.config.chi2_pvalue_threshold,
        },
        "features": [feature_json(f) for f in d.ranked()],
        "predictions": feature_json(d.predictions) if d.predictions else None,
        "confidence": feature_json(d.confidence) if d.confidence else None,
        "missing_features": list(d.missing_features),
        "timings": d.timings,
    }


def quality_json(q: QualityReport) -> dict[str, Any]:
    def period(p: PeriodQuality) -> dict[str, Any]:
        return {**asdict(p), "start": p.start.isoformat(), "end": p.end.isoformat()}

    return {
        "model": q.model,
        "by": q.by,
        "since": q.since.isoformat() if q.since else None,
        "until": q.until.isoformat() if q.until else None,
        "has_baseline": q.has_baseline,
        "overall": period(q.overall),
        "periods": [period(p) for p in q.periods],
        "notes": list(q.notes),
    }
