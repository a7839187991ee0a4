"""The review queue and feedback as the API and the pages use them: one object the app
factory builds over the review queue's store, so a route asks it and never the store."""

from __future__ import annotations

from datetime import datetime

from tandem.domain import Feedback, FeedbackKind, Label, Prediction, ReviewItem, ReviewStatus
from tandem.review import claims, service
from tandem.store.review_queue import ReviewQueue


class Reviews:
    def __init__(self, store: ReviewQueue, claim_ttl_s: float) -> None:
        self._store = store
        self._claim_ttl_s = claim_ttl_s

    # -- predictions and what people said about them -------------------------
    def prediction(self, prediction_id: str) -> Prediction:
        """NotFound for an unknown id."""
        return self._store.get_prediction(prediction_id)

    def feedback(self, prediction_id: str) -> list[Feedback]:
        """NotFound for an unknown prediction, not an empty list."""
        self._store.get_prediction(prediction_id)
        return self._store.list_feedback(prediction_id)

    def labels(self, prediction_id: str) -> list[Label]:
        return self._store.list_labels(prediction_id)

    def add_feedback(
        self, prediction_id: str, kind: FeedbackKind, label: str | None, comment: str | None
    ) -> tuple[Feedback, Label | None]:
        return service.add_feedback(self._store, prediction_id, kind, label, comment)

    # -- the queue -----------------------------------------------------------
    def page(
        self, status: ReviewStatus | None, limit: int, offset: int
    ) -> list[tuple[ReviewItem, Prediction]]:
        return self._store.list_reviews(status, limit, offset)

    def count(self, status: ReviewStatus | None = None) -> int:
        return self._store.count_reviews(status)

    def review(self, review_id: str) -> tuple[ReviewItem, Prediction]:
        """An item with the prediction it is about."""
        item = self._store.get_review(review_id)
        return item, self._store.get_prediction(item.prediction_id)

    def decide(self, review_id: str, label: str, reviewer: str, comment: str | None) -> ReviewItem:
        return service.decide(self._store, review_id, label, reviewer, comment)

    def claim(
        self, reviewer: str, count: int
    ) -> tuple[datetime, list[tuple[ReviewItem, Prediction]]]:
        """The reviewer's batch, held TANDEM_CLAIM_TTL_S seconds: (expiry, items)."""
        return claims.claim(self._store, reviewer, count, self._claim_ttl_s)

    def release(self, review_id: str, reviewer: str) -> ReviewItem:
        return claims.release(self._store, review_id, reviewer)
