"""The store interface. Services depend on this, never on SQL; the URL picks the
implementation (see `tandem.store.open_store`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tandem.domain import (
    Feedback,
    Intake,
    Label,
    ModelEvent,
    ModelVersion,
    Prediction,
    ReviewItem,
    ShadowResult,
)


@dataclass(frozen=True, slots=True)
class PredictionFilter:
    """Which logged predictions to read (for replay, evaluation and monitoring)."""

    model: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    route: str | None = None
    label: str | None = None
    version: str | None = None
    holdout: bool | None = None
    limit: int = 1000


@dataclass(frozen=True, slots=True)
class LogEntry:
    """What one request writes; the parts present are stored together or not at all."""

    prediction: Prediction | None = None
    review: ReviewItem | None = None
    intake: Intake | None = None
    shadow: ShadowResult | None = None


class BatchLog(ABC):
    """A connection that does nothing but write batches of log entries, owned by one
    thread (the group-commit writer): one writer per process is what keeps SQLite's
    lock uncontended, and a dedicated connection skips the pool on every batch."""

    @abstractmethod
    def write(self, entries: Sequence[LogEntry]) -> None:
        """Store every entry in one transaction, or none of them.

        Raise StoreUnavailable when the store cannot be reached or is locked (retrying
        entries one by one would fail the same way) and another StoreError or Conflict
        when the data was refused (another entry of the batch may still be storable)."""

    @abstractmethod
    def close(self) -> None: ...


class Store(ABC):
    # -- predictions -------------------------------------------------------
    @abstractmethod
    def add_prediction(self, prediction: Prediction, review: ReviewItem | None = None) -> None:
        """Store a prediction and, atomically, its review item if it was routed to one."""

    @abstractmethod
    def get_prediction(self, prediction_id: str) -> Prediction:
        """Raise NotFound when the id is unknown."""

    @abstractmethod
    def list_predictions(self, where: PredictionFilter) -> list[Prediction]:
        """Oldest first, at most `where.limit`."""

    @abstractmethod
    def count_predictions(self, model: str | None = None) -> int: ...

    @abstractmethod
    def prediction_stats(
        self, latency_buckets_ms: tuple[float, ...]
    ) -> list[tuple[str, str, str | None, int, list[int], float]]:
        """Per (model, route, fallback reason): count, cumulative latency bucket
        counts, and latency sum; for /metrics, from the store so every worker agrees."""

    # -- review queue --------------------------------------------------------
    @abstractmethod
    def get_review(self, review_id: str) -> ReviewItem: ...

    @abstractmethod
    def list_reviews(
        self, status: str | None, limit: int = 50, offset: int = 0
    ) -> list[tuple[ReviewItem, Prediction]]: ...

    @abstractmethod
    def count_reviews(self, status: str | None = None) -> int: ...

    @abstractmethod
    def decide_review(
        self, review_id: str, label: str, reviewer: str, comment: str | None, at: datetime
    ) -> ReviewItem:
        """Decide a pending item and record its label in one transaction.

        Raise Conflict if it was already decided: two reviewers racing for the same
        item must not both win."""

    # -- feedback and labels -------------------------------------------------
    @abstractmethod
    def add_feedback(self, item: Feedback, label: Label | None) -> None: ...

    @abstractmethod
    def list_feedback(self, prediction_id: str) -> list[Feedback]: ...

    @abstractmethod
    def list_labels(self, prediction_id: str | None = None) -> list[Label]: ...

    @abstractmethod
    def labelled_predictions(self, model: str) -> list[tuple[Prediction, Label]]:
        """Every prediction of `model` that people labelled, with its latest label
        (later labels win; the label keeps its source)."""

    # -- model versions ------------------------------------------------------
    @abstractmethod
    def add_model_version(self, version: ModelVersion, event: ModelEvent | None = None) -> None: ...

    @abstractmethod
    def list_model_versions(self, name: str | None = None) -> list[ModelVersion]: ...

    @abstractmethod
    def get_model_version(self, name: str, version: str) -> ModelVersion: ...

    @abstractmethod
    def set_production(self, name: str, version: str, event: ModelEvent) -> None:
        """Make `version` the one production version, retiring the previous one,
        and store the audit event in the same transaction."""

    @abstractmethod
    def set_shadow(self, name: str, version: str | None, event: ModelEvent) -> None: ...

    @abstractmethod
    def update_card(
        self, name: str, version: str, card: dict[str, Any], event: ModelEvent
    ) -> None: ...

    @abstractmethod
    def list_events(self, name: str | None = None) -> list[ModelEvent]: ...

    @abstractmethod
    def add_shadow_result(self, result: ShadowResult) -> None: ...

    @abstractmethod
    def list_shadow_results(self, name: str, version: str) -> list[ShadowResult]: ...

    def production_version(self, name: str) -> ModelVersion | None:
        for v in self.list_model_versions(name):
            if v.status == "production":
                return v
        return None

    def shadow_version(self, name: str) -> ModelVersion | None:
        for v in self.list_model_versions(name):
            if v.shadow:
                return v
        return None

    @abstractmethod
    def close(self) -> None: ...

    # -- batched writes and the intake ledger ----------------------------------
    @abstractmethod
    def add_predictions(self, entries: Sequence[LogEntry]) -> None:
        """Store many requests' entries in one transaction (see BatchLog.write)."""

    @abstractmethod
    def open_batch_log(self) -> BatchLog:
        """A dedicated writer connection for the group-commit writer."""

    @abstractmethod
    def intake_counts(
        self, since: datetime | None = None, until: datetime | None = None, model: str | None = None
    ) -> dict[str, int]:
        """Prediction requests received in [since, until) by outcome: `received`,
        `answered`, `failed`, and `answered_unlogged` (answered rows whose prediction is
        not in the predictions table: must be 0)."""

    @abstractmethod
    def count_predictions_between(
        self, since: datetime | None = None, until: datetime | None = None, model: str | None = None
    ) -> int:
        """Predictions created in [since, until), counted in the predictions table alone,
        so the ledger can be checked against it independently."""

    @abstractmethod
    def list_prediction_ids(
        self, since: datetime | None = None, until: datetime | None = None, model: str | None = None
    ) -> list[str]:
        """Ids of the predictions created in [since, until): cheap enough for checking
        that a load run's every answer was stored exactly once."""

    @abstractmethod
    def list_intake(
        self, since: datetime | None = None, until: datetime | None = None, limit: int = 1000
    ) -> list[Intake]:
        """Intake rows received in [since, until), oldest first (evidence for alerts)."""
