"""The vocabulary a monitoring config may use to ask the store for a number.

Stakeholders write concern metrics in a file, not in code; letting that file hold
SQL would hand anyone who can edit it the whole database. Instead it names a source,
an aggregate, a numeric column and equality filters, all from the lists below, and
the store turns that into a query it builds itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

FilterValue = str | bool | float | int
Aggregation = Literal["count", "sum", "mean", "min", "max", "quantile", "earliest"]


@dataclass(frozen=True, slots=True)
class Source:
    """A table a metric may read: its time column, filterable and numeric columns."""

    time_column: str
    filters: tuple[str, ...]
    numeric: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()  # the filters that hold true/false


SOURCES: dict[str, Source] = {
    "predictions": Source(
        "created_at",
        ("model", "model_version", "route", "label", "holdout", "fallback_reason"),
        ("latency_ms", "confidence"),
        ("holdout",),
    ),
    "review_items": Source("created_at", ("status", "reason", "label", "reviewer")),
    "feedback": Source("created_at", ("kind", "label")),
    "labels": Source("created_at", ("label", "source", "author")),
}


@dataclass(frozen=True, slots=True)
class Aggregate:
    """One number over one source: rows whose time is in [since, until) and whose
    columns equal the filters (a tuple of values means "any of these").

    `quantile` is the nearest-rank quantile `q` of `column`; `earliest` is the
    oldest row's time as a POSIX timestamp (None when no row matches)."""

    source: str
    aggregation: Aggregation
    column: str | None = None
    filters: Mapping[str, FilterValue | tuple[FilterValue, ...]] = field(default_factory=dict)
    since: datetime | None = None
    until: datetime | None = None
    q: float | None = None

    def __post_init__(self) -> None:
        # The config validates first with friendlier messages; this guards every
        # other caller, so nothing outside the vocabulary reaches a query.
        src = SOURCES.get(self.source)
        if src is None:
            raise ValueError(f"unknown source {self.source!r}")
        unknown = set(self.filters) - set(src.filters)
        if unknown:
            raise ValueError(f"{self.source} cannot be filtered by {sorted(unknown)}")
        needs_column = self.aggregation not in ("count", "earliest")
        if needs_column and self.column not in src.numeric:
            raise ValueError(f"{self.aggregation} needs a numeric column of {self.source}")
        if self.aggregation == "quantile" and not (self.q is not None and 0 < self.q <= 1):
            raise ValueError("quantile needs q in (0, 1]")


@dataclass(frozen=True, slots=True)
class ReviewLedger:
    """Review items of the predictions created in a window, by what happened to them.

    `created` counts predictions routed to review (from the predictions table);
    `decided`, `pending` and `other` count the review items that exist for them, so
    a lost or mangled review item shows as a difference."""

    created: int
    decided: int
    pending: int
    other: dict[str, int] = field(default_factory=dict)

    @property
    def missing(self) -> int:
        return self.created - self.decided - self.pending
