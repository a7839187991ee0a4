"""The stakeholder report's reads: a few columns over a window, never whole rows,
on top of what monitoring reads (alerts, drift, quality)."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from datetime import datetime

from tandem.domain import Feedback
from tandem.store.monitoring_store import MonitoringStore


@dataclass(frozen=True, slots=True)
class PredictionFacts:
    """Column-wise facts about the predictions in a window (for reports)."""

    created_at: list[datetime]
    model: list[str]
    route: list[str]
    latency_ms: list[float]
    holdout: list[bool]


@dataclass(frozen=True, slots=True)
class ReviewFacts:
    """Column-wise facts about the review items created in a window (for reports)."""

    created_at: list[datetime]
    decided_at: list[datetime | None]
    status: list[str]
    reviewer: list[str | None]
    reason: list[str]


class ReportReads(MonitoringStore):
    @abstractmethod
    def prediction_facts(
        self, since: datetime | None, until: datetime | None, model: str | None = None
    ) -> PredictionFacts: ...

    @abstractmethod
    def review_facts(
        self, since: datetime | None, until: datetime | None, model: str | None = None
    ) -> ReviewFacts: ...

    @abstractmethod
    def feedback_of_kind(
        self, kind: str, since: datetime | None, until: datetime | None, limit: int
    ) -> list[Feedback]:
        """At most `limit` of the feedback of `kind` given in [since, until), newest
        first."""
