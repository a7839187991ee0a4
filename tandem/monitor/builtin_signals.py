"""The built-in alert signals: latency, fallback and error rates, the review
backlog, and any concern metric (a model's drift and quality are in model_signals)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import Field

from tandem.monitor.signal_registry import Params, Reading, SignalContext, register_signal
from tandem.monitor.windows import Window
from tandem.store.aggregates import Aggregate
from tandem.store.monitoring_store import MonitoringStore


class ModelParams(Params):
    model: str | None = Field(default=None, description="Only this model (default: all).")


class LatencyParams(ModelParams):
    quantile: float = Field(default=0.95, gt=0, le=1, description="0.95 for p95, 0.99 for p99.")


def _model_filter(model: str | None) -> dict[str, str]:
    return {} if model is None else {"model": model}


def _bounds(window: Window) -> tuple[datetime | None, datetime]:
    return window.since, window.until


def _count(
    store: MonitoringStore, source: str, where: dict[str, str], window: Window | None
) -> int:
    since, until = _bounds(window) if window else (None, None)
    return int(store.aggregate(Aggregate(source, "count", None, where, since, until)) or 0)


@register_signal("latency", LatencyParams, "A quantile of prediction latency (ms).")
def latency(ctx: SignalContext, p: LatencyParams, window: Window) -> Reading:
    where = _model_filter(p.model)
    value = ctx.store.aggregate(
        Aggregate("predictions", "quantile", "latency_ms", where, *_bounds(window), q=p.quantile)
    )
    count = _count(ctx.store, "predictions", where, window)
    return Reading(value, {"quantile": p.quantile, "model": p.model, "predictions": count})


@register_signal("fallback_rate", ModelParams, "Share of answers given by the fallback.")
def fallback_rate(ctx: SignalContext, p: ModelParams, window: Window) -> Reading:
    where = _model_filter(p.model)
    total = _count(ctx.store, "predictions", where, window)
    fallbacks = _count(ctx.store, "predictions", {**where, "route": "fallback"}, window)
    value = None if not total else fallbacks / total
    return Reading(value, {"fallbacks": fallbacks, "predictions": total, "model": p.model})


@register_signal("error_rate", Params, "Share of predict requests that failed (intake ledger).")
def error_rate(ctx: SignalContext, _p: Params, window: Window) -> Reading:
    if ctx.intake is None:
        return Reading(None, {"unavailable": "this store keeps no intake ledger"})
    counts = ctx.intake(window.since, window.until)
    value = None if not counts.received else counts.failed / counts.received
    return Reading(value, {"received": counts.received, "failed": counts.failed})


class BacklogParams(Params):
    measure: Literal["count", "oldest_age_s"] = Field(
        default="count", description="Items waiting, or the oldest one's age in seconds."
    )


@register_signal("review_backlog", BacklogParams, "Review items waiting for a person now.")
def review_backlog(ctx: SignalContext, p: BacklogParams, window: Window) -> Reading:
    # The backlog is a state, not a rate: the window's end is "now", its start is ignored.
    pending = {"status": "pending"}
    count = _count(ctx.store, "review_items", pending, None)
    if p.measure == "count":
        return Reading(float(count), {"pending": count})
    oldest = ctx.store.aggregate(Aggregate("review_items", "earliest", None, pending))
    if oldest is None:
        return Reading(None, {"pending": count})
    since = datetime.fromtimestamp(oldest, UTC).isoformat()
    return Reading(max(window.until.timestamp() - oldest, 0.0), {"pending": count, "since": since})


class ConcernParams(Params):
    name: str = Field(description="A concern metric's name (see the concerns table).")


@register_signal("concern", ConcernParams, "A concern metric's value.")
def concern(ctx: SignalContext, p: ConcernParams, window: Window) -> Reading:
    return ctx.concern(p.name, window)
