"""The store interface. Services depend on this, never on SQL; the URL picks the
implementation (see `tandem.store.open_store`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime

from tandem.domain import Feedback, Label, ModelStatus, ModelVersion, Prediction, ReviewItem


class Store(ABC):
    # -- predictions -------------------------------------------------------
    @abstractmethod
    def add_prediction(self, prediction: Prediction, review: ReviewItem | None = None) -> None:
        """Store a prediction and, atomically, its review item if it was routed to one."""

    @abstractmethod
    def get_prediction(self, prediction_id: str) -> Prediction:
        """Raise NotFound when the id is unknown."""

    @abstractmethod
    def count_predictions(self, model: str | None = None) -> int: ...

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

    # -- model versions ------------------------------------------------------
    @abstractmethod
    def add_model_version(self, version: ModelVersion) -> None: ...

    @abstractmethod
    def list_model_versions(self, name: str | None = None) -> list[ModelVersion]: ...

    @abstractmethod
    def set_model_status(self, name: str, version: str, status: ModelStatus) -> None: ...

    def production_version(self, name: str) -> ModelVersion | None:
        for v in self.list_model_versions(name):
            if v.status == "production":
                return v
        return None

    @abstractmethod
    def close(self) -> None: ...
