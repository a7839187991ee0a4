"""Concern metrics: stakeholders' worries as numbers over the store, each with what a
healthy value looks like. Defined in the monitoring file (see monitoring_config);
`nothing_lost` is built in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tandem.domain import shallow_dict
from tandem.errors import InvalidInput
from tandem.monitor.monitoring_config import (
    NOTHING_LOST,
    QUANTILES,
    ConcernSpec,
    Filters,
    MonitoringConfig,
)
from tandem.monitor.nothing_lost import IntakeSource, nothing_lost
from tandem.monitor.signals import Reading
from tandem.monitor.windows import Window, seconds
from tandem.store.aggregates import Aggregate, FilterValue
from tandem.store.monitoring_store import MonitoringStore


@dataclass(frozen=True, slots=True)
class ConcernValue:
    """A concern over one window; the fields stand in the order its JSON shows them."""

    name: str
    value: float | None
    ok: bool
    expected: dict[str, float]
    parts: dict[str, Any]
    window: Window
    description: str

    def as_dict(self) -> dict[str, Any]:
        """The API's and `tandem concerns --json`'s shape."""
        return {**shallow_dict(self), "window": self.window.as_dict()}


def _filters(filters: Filters) -> dict[str, FilterValue | tuple[FilterValue, ...]]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in filters.items()}


def measure(
    store: MonitoringStore, spec: ConcernSpec, window: Window
) -> tuple[float | None, dict[str, Any]]:
    """A configured concern's value over `window`, and the counts behind it."""
    where = _filters(spec.where)
    bounds = (window.since, window.until)
    if spec.measure == "count":
        count = store.aggregate(Aggregate(spec.source, "count", None, where, *bounds)) or 0.0
        return count, {"count": int(count)}
    if spec.measure == "share":
        among = _filters(spec.among)
        den = store.aggregate(Aggregate(spec.source, "count", None, among, *bounds)) or 0.0
        num = store.aggregate(Aggregate(spec.source, "count", None, {**among, **where}, *bounds))
        num = num or 0.0
        return num / den if den else None, {"matching": int(num), "among": int(den)}
    if spec.measure == "oldest_age_s":
        oldest = store.aggregate(Aggregate(spec.source, "earliest", None, where, *bounds))
        if oldest is None:
            return None, {"oldest_at": None}
        age = max(window.until.timestamp() - oldest, 0.0)
        return age, {"oldest_at": datetime.fromtimestamp(oldest, UTC).isoformat()}
    q = QUANTILES.get(spec.measure)
    aggregation = "quantile" if q is not None else spec.measure
    value = store.aggregate(
        Aggregate(spec.source, aggregation, spec.column, where, *bounds, q=q)  # type: ignore[arg-type]
    )
    count = store.aggregate(Aggregate(spec.source, "count", None, where, *bounds)) or 0.0
    return value, {"column": spec.column, "rows": int(count)}


class Concerns:
    """Evaluates the configured concerns against one store (and its intake ledger)."""

    def __init__(
        self, store: MonitoringStore, config: MonitoringConfig, intake: IntakeSource | None
    ) -> None:
        self.store = store
        self.config = config
        self.intake = intake

    @property
    def names(self) -> list[str]:
        return [NOTHING_LOST, *(c.name for c in self.config.concerns)]

    def value(self, name: str, window: Window, settle: bool = True) -> ConcernValue:
        """`settle`: end the intake half of nothing_lost a little before the window
        (window ending "now"), so requests still in flight are not counted as lost."""
        spec = self.config.concern(name)
        expectation = self.config.expectation(name)
        if isinstance(spec, ConcernSpec):
            value, parts = measure(self.store, spec, window)
        else:
            intake_until = window.until
            if settle:
                intake_until -= timedelta(seconds=seconds(spec.settle) or 0.0)
            value, parts = nothing_lost(
                self.store, window.since, window.until, self.intake, intake_until
            )
        if value is None:
            parts = {**parts, "note": "nothing to measure in this window"}
        return ConcernValue(
            name=name,
            value=value,
            ok=expectation.accepts(value),
            expected=expectation.expected(),
            parts=parts,
            window=window,
            description=spec.description,
        )

    def evaluate(
        self, now: datetime, since: datetime | None = None, until: datetime | None = None
    ) -> list[ConcernValue]:
        """Every concern over its own window ending now, or all over [since, until)."""
        if since is not None and until is not None and since >= until:
            raise InvalidInput("since must be before until")
        custom = since is not None or until is not None
        out = []
        for name in self.names:
            if custom:
                window = Window.between(since, until or now)
            else:
                window = Window.ending(now, self.config.concern(name).window)
            out.append(self.value(name, window, settle=until is None))
        return out

    def reading(self, name: str, window: Window) -> Reading:
        """A concern as an alert signal reads it."""
        value = self.value(name, window)
        return Reading(value.value, {"parts": value.parts, "concern_ok": value.ok})
