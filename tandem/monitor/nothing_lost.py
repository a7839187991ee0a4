"""The built-in concern "nothing lost": every request and every review item is
accounted for, in any window.

(a) requests: received - answered - failed, where received and failed come from the
    intake ledger (one row per predict request that carries a valid API key, written
    by the serving layer; keyless ones are only counted, in /metrics) and
    answered counts the predictions table: a request acknowledged but never logged
    shows up here.
(b) review items: created - decided - pending, where created counts predictions
    routed to review (each one gets a review item in the same transaction) and
    decided/pending count the review items that exist for them: a deleted item, or
    one in a status nobody handles, shows up here. A fallback answer sent to review
    keeps route `fallback` and is left out of both counts.

Both halves count independent tables, so either one losing a row is visible.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tandem.store.aggregates import Aggregate
from tandem.store.monitoring_store import MonitoringStore


@dataclass(frozen=True, slots=True)
class IntakeCounts:
    """Predict requests received in a window, by outcome, per the intake ledger."""

    received: int
    answered: int
    failed: int

    @classmethod
    def of(cls, counts: Any) -> IntakeCounts:
        """Read a ledger's answer, whether a mapping or an object with these names."""
        if isinstance(counts, Mapping):
            return cls(int(counts["received"]), int(counts["answered"]), int(counts["failed"]))
        return cls(int(counts.received), int(counts.answered), int(counts.failed))


IntakeSource = Callable[[datetime | None, datetime | None], IntakeCounts]
"""(since, until) -> counts of the requests received in [since, until)."""


def store_intake(store: MonitoringStore) -> IntakeSource | None:
    """The store's intake ledger, if it keeps one (`Store.intake_counts(since, until)`);
    None otherwise, and then only the review half of nothing_lost is measured."""
    method = getattr(store, "intake_counts", None)
    if method is None:
        return None

    def counts(since: datetime | None, until: datetime | None) -> IntakeCounts:
        return IntakeCounts.of(method(since, until))

    return counts


def nothing_lost(
    store: MonitoringStore,
    since: datetime | None,
    until: datetime,
    intake: IntakeSource | None,
    intake_until: datetime | None = None,
) -> tuple[float, dict[str, Any]]:
    """(total of both differences in absolute value, the counts behind them).

    `intake_until` (default `until`) may end the request half earlier: a request
    still being answered at `until` is received but not yet logged, and would show
    as lost for the moment it takes to answer it."""
    review = store.review_ledger(since, until)
    parts: dict[str, Any] = {
        "review_items": {
            "created": review.created,
            "decided": review.decided,
            "pending": review.pending,
            "unexpected_status": review.other,
            "missing": review.missing,
        }
    }
    lost = abs(review.missing)
    if intake is None:
        parts["requests"] = {"measured": False, "why": "this store keeps no intake ledger"}
    else:
        end = intake_until or until
        counts = intake(since, end)
        answered = int(
            store.aggregate(Aggregate("predictions", "count", None, {}, since, end)) or 0
        )
        missing = counts.received - answered - counts.failed
        parts["requests"] = {
            "measured": True,
            "received": counts.received,
            "answered": answered,
            "failed": counts.failed,
            "ledger_answered": counts.answered,
            "missing": missing,
            "until": end.isoformat(),
        }
        lost += abs(missing)
    return float(lost), parts
