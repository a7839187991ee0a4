"""Alert signals that look at a model's inputs and answers: drift and live quality.

Registered with the same registry as the built-in signals, so a rule in the monitoring
file can say `signal = "drift"`. The drift signal keeps each feature's PSI in its
evidence: /metrics publishes those from the latest check instead of re-reading a
window of logged rows on every scrape."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tandem.errors import TandemError
from tandem.monitor.metrics import Gauge
from tandem.monitor.model_drift import drift_for
from tandem.monitor.quality import quality_over_time
from tandem.monitor.signal_registry import Params, Reading, SignalContext, register_signal
from tandem.monitor.windows import Window
from tandem.store.monitoring_store import MonitoringStore


class DriftParams(Params):
    model: str = Field(description="The model whose production version is checked.")
    statistic: Literal["max_psi", "share_drifted"] = Field(
        default="max_psi",
        description="The largest PSI over the features, or the share of features drifted.",
    )


@register_signal("drift", DriftParams, "Input drift of a model against its training data.", "1d")
def drift(ctx: SignalContext, p: DriftParams, window: Window) -> Reading:
    try:
        result = drift_for(ctx.store, p.model, window.since, window.until)
    except TandemError as exc:  # no reference, unknown model: nothing to measure
        return Reading(None, {"unavailable": exc.message})
    if not result.enough_data or result.features is None:
        return Reading(None, {"unavailable": result.message, "live_rows": result.live_rows})
    psi = {f.name: round(f.psi, 6) for f in result.features.features}
    value = max(psi.values(), default=0.0)
    if p.statistic == "share_drifted":
        value = result.features.share_drifted
    return Reading(
        value,
        {
            "model": p.model,
            "version": result.version,
            "live_rows": result.live_rows,
            "drifted_features": list(result.drifted_features),
            "psi": psi,
        },
    )


class QualityParams(Params):
    model: str
    measure: Literal["accuracy", "f1_macro", "agreement"] = "accuracy"
    min_items: int = Field(default=20, ge=1, description="Fewer labelled items: no value.")


@register_signal("quality", QualityParams, "Live accuracy, F1 or reviewer agreement.", "7d")
def quality(ctx: SignalContext, p: QualityParams, window: Window) -> Reading:
    report = quality_over_time(ctx.store, p.model, "day", window.since, window.until)
    overall = report.overall
    evidence = {"model": p.model, "items": overall.items}
    if overall.items < p.min_items:
        return Reading(None, {**evidence, "unavailable": f"fewer than {p.min_items} labelled"})
    if p.measure == "agreement":
        return Reading(overall.agreement, {**evidence, "pairs": overall.agreement_items})
    value = overall.model.accuracy if p.measure == "accuracy" else overall.model.f1_macro
    return Reading(value, evidence)


def drift_gauges(store: MonitoringStore) -> list[Gauge]:
    """Each feature's PSI from the latest check of every drift rule."""
    samples: list[tuple[dict[str, str], float | None]] = []
    for check in store.list_checks():
        if check.signal != "drift":
            continue
        details = dict(check.evidence.get("details") or {})
        model = str(details.get("model", ""))
        for feature, psi in sorted(dict(details.get("psi") or {}).items()):
            samples.append(({"rule": check.rule, "model": model, "feature": feature}, psi))
    return [
        Gauge(
            "tandem_drift_psi",
            "PSI of each input feature, live vs training, at the latest drift check.",
            samples,
        )
    ]
