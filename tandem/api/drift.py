"""Monitoring API: drift of live traffic against training, and live quality over time.

Plain `def` routes: a big window is a second of NumPy work, which belongs on the
threadpool, not on the event loop that answers predictions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from tandem.api.errors import responses
from tandem.monitor.serialize import drift_json, quality_json
from tandem.web.state import Svc

_errors = responses(404, 409, 422)
router = APIRouter(prefix="/v1/monitor", tags=["monitor"], responses=_errors)
Model = Annotated[str, Query(min_length=1, max_length=100, description="Model name.")]
Since = Annotated[datetime | None, Query(description="From this time (ISO 8601; UTC if naive).")]
Until = Annotated[datetime | None, Query(description="Before this time (default: now).")]


@router.get("/drift")
def drift(
    svc: Svc,
    model: Model,
    since: Since = None,
    until: Until = None,
    version: Annotated[str | None, Query(max_length=64)] = None,
    psi_threshold: Annotated[float | None, Query(gt=0)] = None,
    ks_pvalue: Annotated[float | None, Query(gt=0, lt=1)] = None,
    chi2_pvalue: Annotated[float | None, Query(gt=0, lt=1)] = None,
    psi_bins: Annotated[int | None, Query(ge=2, le=100)] = None,
) -> dict[str, Any]:
    """Each feature's live distribution against the version's training reference (PSI
    and KS, or PSI and chi-square for categorical features), plus the predicted-label
    mix and confidence; thresholds default to the TANDEM_DRIFT_* settings."""
    result = svc.health.drift(
        model,
        since,
        until,
        version,
        psi_threshold=psi_threshold,
        ks_pvalue=ks_pvalue,
        chi2_pvalue=chi2_pvalue,
        psi_bins=psi_bins,
    )
    return drift_json(result)


@router.get("/quality")
def quality(
    svc: Svc,
    model: Model,
    by: Literal["day", "week"] = "day",
    since: Since = None,
    until: Until = None,
) -> dict[str, Any]:
    """Live accuracy and macro F1 per period on labelled items, next to the rule
    baseline's on the same items and the agreement between two people."""
    report = svc.health.quality(model, by, since, until)
    return quality_json(report)
