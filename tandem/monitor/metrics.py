"""/metrics in Prometheus text format, read from the store so that every worker
process (and a restarted one) reports the same totals."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from tandem.store.aggregates import Aggregate
from tandem.store.monitoring_store import MonitoringStore

LATENCY_BUCKETS_MS = (1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 1000.0)


def _labels(**pairs: str) -> str:
    inner = ",".join(
        f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for k, v in pairs.items()
    )
    return "{" + inner + "}"


@dataclass(frozen=True, slots=True)
class Gauge:
    """A gauge family to add to /metrics: its name, help text and samples.

    Anything that can say "this number, with these labels, now" becomes a Prometheus
    gauge by returning one of these (see Monitoring.gauge_sources); a count that only
    grows says `kind="counter"`."""

    name: str
    help: str
    samples: list[tuple[dict[str, str], float | None]] = field(default_factory=list)
    kind: str = "gauge"

    def lines(self) -> list[str]:
        return _family(
            self.name,
            self.help,
            self.kind,
            (
                (_labels(**labels) if labels else "", _shown(value))
                for labels, value in self.samples
            ),
        )


def _shown(value: float | None) -> str:
    return "NaN" if value is None or math.isnan(value) else repr(float(value))


def _family(
    name: str, help: str, kind: str, samples: Iterable[tuple[str, object]] = ()
) -> list[str]:
    """A metric family: its HELP and TYPE lines, then `name{labels} value` for each
    sample (labels rendered by `_labels`, or "" for none)."""
    return [f"# HELP {name} {help}", f"# TYPE {name} {kind}"] + [
        f"{name}{labels} {value}" for labels, value in samples
    ]


def render(store: MonitoringStore, gauges: Iterable[Gauge] = ()) -> str:
    by_route: dict[tuple[str, str], int] = defaultdict(int)
    by_reason: dict[tuple[str, str], int] = defaultdict(int)
    hist: dict[str, list[int]] = defaultdict(lambda: [0] * len(LATENCY_BUCKETS_MS))
    sums: dict[str, float] = defaultdict(float)
    totals: dict[str, int] = defaultdict(int)
    for model, route, reason, n, buckets, latency_sum in store.prediction_stats(LATENCY_BUCKETS_MS):
        by_route[(model, route)] += n
        if reason:
            by_reason[(model, reason.split(":")[0])] += n
        hist[model] = [a + b for a, b in zip(hist[model], buckets, strict=True)]
        sums[model] += latency_sum
        totals[model] += n

    lines = _family(
        "tandem_predictions_total",
        "Predictions answered, by route.",
        "counter",
        ((_labels(model=m, route=r), n) for (m, r), n in sorted(by_route.items())),
    )
    lines += _family(
        "tandem_fallbacks_total",
        "Predictions answered by the fallback, by reason.",
        "counter",
        ((_labels(model=m, reason=r), n) for (m, r), n in sorted(by_reason.items())),
    )
    lines += _family(
        "tandem_fallback_ratio",
        "Share of predictions answered by the fallback.",
        "gauge",
        (
            (_labels(model=m), f"{by_route.get((m, 'fallback'), 0) / total:.6f}")
            for m, total in sorted(totals.items())
        ),
    )
    unusual = {m: n for m, reason, n in store.review_reasons() if reason == "unusual_input"}
    lines += _family(
        "tandem_unusual_inputs_total",
        "Predictions whose input lay outside the version's training ranges (sent to "
        "review, reason unusual_input).",
        "counter",
        ((_labels(model=m), unusual.get(m, 0)) for m in sorted(set(totals) | set(unusual))),
    )
    lines += _family("tandem_prediction_latency_ms", "Time to compute a prediction.", "histogram")
    for model in sorted(totals):
        for bound, count in zip(LATENCY_BUCKETS_MS, hist[model], strict=True):
            lines.append(
                f"tandem_prediction_latency_ms_bucket{_labels(model=model, le=str(bound))} {count}"
            )
        lines.append(
            f"tandem_prediction_latency_ms_bucket{_labels(model=model, le='+Inf')} {totals[model]}"
        )
        lines.append(f"tandem_prediction_latency_ms_sum{_labels(model=model)} {sums[model]:.3f}")
        lines.append(f"tandem_prediction_latency_ms_count{_labels(model=model)} {totals[model]}")
    lines += _family(
        "tandem_review_backlog",
        "Review items waiting for a person.",
        "gauge",
        [("", _pending_reviews(store))],
    )
    for gauge in gauges:
        lines += gauge.lines()
    return "\n".join(lines) + "\n"


def _pending_reviews(store: MonitoringStore) -> int:
    """The review backlog, counted through the monitoring vocabulary."""
    return int(
        store.aggregate(Aggregate("review_items", "count", None, {"status": "pending"})) or 0
    )
