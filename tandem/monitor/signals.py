"""Signals: the numbers alert rules watch, in a registry a new signal joins in a few
lines (drift and live quality plug in here without the alert code knowing them).

A signal is a function (context, params, window) -> Reading with a Pydantic model
for its params, so a rule's params are checked when the config loads, not when the
rule first runs:

    class DriftParams(BaseModel):
        model_config = ConfigDict(extra="forbid")
        model: str

    @register_signal("drift", DriftParams, "Largest PSI over a model's features.")
    def drift(ctx: SignalContext, p: DriftParams, window: Window) -> Reading:
        report = drift_for(ctx.store, p.model, window.since, window.until)
        return Reading(max_psi(report), {"drifted": drifted_features(report)})

Every rule's latest reading is kept in the store and shown on /metrics as
`tandem_signal_value{rule, signal}`, so a registered signal reaches Prometheus too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from tandem.monitor.nothing_lost import IntakeSource
from tandem.monitor.windows import Window
from tandem.store.aggregates import Aggregate
from tandem.store.monitoring_store import MonitoringStore


@dataclass(frozen=True, slots=True)
class Reading:
    """A signal's value (None: nothing to measure in the window) and why."""

    value: float | None
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SignalContext:
    """What a signal may read. `concern(name, window)` measures a concern metric."""

    store: MonitoringStore
    now: datetime
    intake: IntakeSource | None
    concern: Callable[[str, Window], Reading]


P = TypeVar("P", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Signal(Generic[P]):
    name: str
    params: type[P]
    measure: Callable[[SignalContext, P, Window], Reading]
    description: str
    default_window: str = "15m"

    def read(self, ctx: SignalContext, params: dict[str, Any], window: Window) -> Reading:
        return self.measure(ctx, self.params.model_validate(params), window)


SIGNALS: dict[str, Signal[Any]] = {}


def register_signal(
    name: str, params: type[P], description: str, default_window: str = "15m"
) -> Callable[[Callable[[SignalContext, P, Window], Reading]], Callable[..., Reading]]:
    """Add a signal alert rules can name (a decorator; the last registration wins)."""

    def add(fn: Callable[[SignalContext, P, Window], Reading]) -> Callable[..., Reading]:
        SIGNALS[name] = Signal(name, params, fn, description, default_window)
        return fn

    return add


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelParams(_Params):
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


@register_signal("error_rate", _Params, "Share of predict requests that failed (intake ledger).")
def error_rate(ctx: SignalContext, _p: _Params, window: Window) -> Reading:
    if ctx.intake is None:
        return Reading(None, {"unavailable": "this store keeps no intake ledger"})
    counts = ctx.intake(window.since, window.until)
    value = None if not counts.received else counts.failed / counts.received
    return Reading(value, {"received": counts.received, "failed": counts.failed})


class BacklogParams(_Params):
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


class ConcernParams(_Params):
    name: str = Field(description="A concern metric's name (see the concerns table).")


@register_signal("concern", ConcernParams, "A concern metric's value.")
def concern(ctx: SignalContext, p: ConcernParams, window: Window) -> Reading:
    return ctx.concern(p.name, window)


# Drift and quality register themselves here too (they import this module's registry).
from tandem.monitor import model_signals as _model_signals  # noqa: E402, F401
