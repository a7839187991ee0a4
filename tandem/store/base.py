"""The store interface. Services depend on this, never on SQL; the URL picks the
implementation (see `tandem.store.open_store`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tandem.domain import (
    Feedback,
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

    # -- review claims -------------------------------------------------------
    @abstractmethod
    def claim_reviews(
        self, reviewer: str, count: int, now: datetime, until: datetime
    ) -> list[tuple[ReviewItem, Prediction]]:
        """Give `reviewer` a batch of pending items held until `until`, oldest first:
        the live claims they already hold (renewed), topped up to `count` with items
        nobody holds at `now` (never claimed, released, or expired).

        Atomic: reviewers claiming at the same moment never get the same item."""

    @abstractmethod
    def release_review(self, review_id: str, reviewer: str, now: datetime) -> ReviewItem:
        """Drop `reviewer`'s claim so anyone may take the item; a no-op when nobody
        holds it. Conflict if it was decided or someone else holds it."""

    @abstractmethod
    def list_free_reviews(
        self, now: datetime, limit: int = 50, offset: int = 0
    ) -> list[tuple[ReviewItem, Prediction]]:
        """Pending items nobody holds at `now`, oldest first: what a reviewer may take."""
