"""The review queue and feedback as the API and the pages use them: one object the app
factory builds over the review queue's store, so a route asks it and never the store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tandem.clock import utcnow
from tandem.domain import (
    Feedback,
    FeedbackKind,
    Label,
    Prediction,
    ReviewItem,
    ReviewStatus,
    ShownLabels,
    SuggestionRating,
    disagreements,
    final_label,
)
from tandem.errors import InvalidInput
from tandem.ids import new_id
from tandem.review import claims, labels, queue, service
from tandem.review.queue import Aim, QueueAsk
from tandem.store.editor_store import EditorStore, SuggestionFeedbackFilter
from tandem.store.review_queue import PageQuery, ReviewQueue


@dataclass(frozen=True, slots=True)
class QueueCounts:
    total: int
    by_filter: dict[str, dict[str, int]]


@dataclass(frozen=True, slots=True)
class QueuePage:
    rows: list[tuple[ReviewItem, Prediction]]
    next_cursor: str | None
    """None on the last page."""
    total: int
    total_capped: bool
    """True when `total` is a floor (an age filter counted up to queue.COUNT_CAP)."""
    counts: dict[str, dict[str, int]]


class Reviews:
    def __init__(
        self,
        store: ReviewQueue,
        claim_ttl_s: float,
        second_opinion_rate: float = 0.0,
        editor: EditorStore | None = None,
    ) -> None:
        self._store = store
        self._claim_ttl_s = claim_ttl_s
        self._second_opinion_rate = second_opinion_rate
        self._editor = editor  # None: suggestions cannot be rated

    # -- predictions and what people said about them -------------------------
    def prediction(self, prediction_id: str) -> Prediction:
        """NotFound for an unknown id."""
        return self._store.get_prediction(prediction_id)

    def feedback(self, prediction_id: str) -> list[Feedback]:
        """NotFound for an unknown prediction, not an empty list."""
        self._store.get_prediction(prediction_id)
        return self._store.list_feedback(prediction_id)

    def add_feedback(
        self,
        prediction_id: str,
        kind: FeedbackKind,
        label: str | None,
        comment: str | None,
        author: str | None = None,
        role: str | None = None,
    ) -> tuple[Feedback, Label | None]:
        """Store feedback and the label it implies, given by the key named `author`. The
        label never replaces a person's decision: it is kept, and the final label
        follows domain.LABEL_PRECEDENCE."""
        prediction = self._store.get_prediction(prediction_id)
        if kind == "bug" and not comment:
            raise InvalidInput("a bug report needs a comment that says what went wrong")
        resolved = service.resolve_feedback_label(prediction, kind, label)
        now = utcnow()
        item = Feedback(new_id(), prediction_id, kind, label, comment, now)
        stored_label = None
        if resolved is not None:
            stored_label = Label(
                new_id(), prediction_id, resolved, "feedback", item.id, author, now, role
            )
        self._store.add_feedback(item, stored_label)
        return item, stored_label

    def rate_suggestion(
        self,
        prediction_id: str,
        suggestion: str | None,
        helpful: bool | None,
        comment: str | None,
        author: str | None = None,
        role: str | None = None,
    ) -> SuggestionRating:
        """Store a writer's rating of one of the prediction's suggestions (explicit
        feedback); it implies no label."""
        if self._editor is None:
            raise InvalidInput("this server does not keep ratings of suggestions")
        prediction = self._store.get_prediction(prediction_id)
        if suggestion is None or helpful is None:
            raise InvalidInput(
                "feedback of kind 'suggestion' needs `suggestion` (the id of one of the "
                "prediction's suggestions) and `helpful` (true or false)"
            )
        given = [str(s["id"]) for s in prediction.suggestions]
        if suggestion not in given:
            raise InvalidInput(
                f"prediction {prediction_id} gave no suggestion {suggestion!r}; it gave: "
                f"{', '.join(given) or 'none'}"
            )
        rating = SuggestionRating(
            id=new_id(),
            prediction_id=prediction_id,
            suggestion=suggestion,
            model=prediction.model,
            created_at=utcnow(),
            author=author,
            helpful=helpful,
            comment=comment,
            role=role,
        )
        self._editor.add_suggestion_rating(rating)
        return rating

    def suggestion_ratings(self, prediction_id: str) -> list[SuggestionRating]:
        """Writers' ratings of the prediction's suggestions (what they did with them is
        not feedback a person gave)."""
        if self._editor is None:
            return []
        return self._editor.list_suggestion_ratings(SuggestionFeedbackFilter(prediction_id))

    def shown_labels(self, prediction_id: str, role: str | None) -> ShownLabels:
        """The prediction's labels, its final one (domain.final_label) and those that
        disagree with it, as a caller of `role` may see them (see `blind`)."""
        if self.blind([prediction_id], role):
            return ShownLabels(hidden=True)
        labels = self._store.list_labels(prediction_id)
        return ShownLabels(labels, final_label(labels), disagreements(labels))

    def label_rows(
        self,
        model: str | None,
        since: datetime | None,
        cursor: str | None,
        limit: int,
        role: str | None = "admin",
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the label export and the cursor of the next (None at the end);
        for a caller of `role`, without the predictions `blind` to them."""
        rows, nxt = labels.page(self._store, model, since, cursor, limit)
        hidden = self.blind([r["prediction_id"] for r in rows], role)
        return [r for r in rows if r["prediction_id"] not in hidden], nxt

    def all_label_rows(
        self, model: str | None, since: datetime | None, role: str | None = "admin"
    ) -> Iterator[dict[str, Any]]:
        """Every row of the label export, read a page at a time; for a caller of
        `role`, without the predictions `blind` to them."""
        batch: list[dict[str, Any]] = []
        for row in labels.rows(self._store, model, since):
            batch.append(row)
            if len(batch) == labels.PAGE:
                yield from self._seen(batch, role)
                batch = []
        yield from self._seen(batch, role)

    def _seen(self, rows: list[dict[str, Any]], role: str | None) -> list[dict[str, Any]]:
        hidden = self.blind([r["prediction_id"] for r in rows], role)
        return [r for r in rows if r["prediction_id"] not in hidden]

    # -- the queue -----------------------------------------------------------
    def count(self, status: ReviewStatus | None = None) -> int:
        return self._store.count_reviews(status)

    def aim(self, served_labels: dict[str, tuple[str, ...]], asked: QueueAsk) -> Aim:
        """Filters and sort as asked, checked (InvalidInput lists the valid values)."""
        return queue.aim(self._store.queue_counts(), served_labels, asked)

    def counts(self, aim: Aim) -> QueueCounts:
        """How many items the aim matches (age aside) and per value of each filter."""
        counts = self._store.queue_counts()
        return QueueCounts(
            queue.exact_total(counts, aim.where), queue.facet_counts(counts, aim.where)
        )

    def queue(self, aim: Aim, limit: int, cursor: str | None = None, offset: int = 0) -> QueuePage:
        """A page of the aimed queue after `cursor` (or, for older clients, `offset`)."""
        after = queue.decode_cursor(cursor, aim.sort) if cursor else None
        rows = self._store.queue_page(PageQuery(aim.where, aim.sort, limit + 1, after, offset))
        more, rows = len(rows) > limit, rows[:limit]
        next_cursor = queue.encode_cursor(aim.sort, rows[-1][0]) if more and rows else None
        counts = self._store.queue_counts()
        where = aim.where
        if where.created_before is None and where.created_after is None:
            total, capped = queue.exact_total(counts, where), False
        else:
            total = self._store.count_capped(where, queue.COUNT_CAP)
            total, capped = min(total, queue.COUNT_CAP), total > queue.COUNT_CAP
        return QueuePage(rows, next_cursor, total, capped, queue.facet_counts(counts, where))

    def review(self, review_id: str) -> tuple[ReviewItem, Prediction]:
        """An item with the prediction it is about."""
        item = self._store.get_review(review_id)
        return item, self._store.get_prediction(item.prediction_id)

    def decide(
        self,
        review_id: str,
        label: str,
        reviewer: str,
        comment: str | None,
        role: str | None = None,
    ) -> ReviewItem:
        return service.decide(
            self._store, review_id, label, reviewer, comment, role, self._second_opinion_rate
        )

    def undo(self, review_id: str, reviewer: str) -> ReviewItem:
        """Take back the reviewer's own decision of the last service.UNDO_S seconds."""
        return service.undo(self._store, review_id, reviewer, self._claim_ttl_s)

    def claim(self, ask: claims.ClaimAsk) -> tuple[datetime, list[tuple[ReviewItem, Prediction]]]:
        """The reviewer's batch (of the aimed queue, if given; without the items it
        excludes), held TANDEM_CLAIM_TTL_S seconds: (expiry, items). Adjudications only
        for an admin role."""
        return claims.claim(self._store, ask, self._claim_ttl_s)

    # -- second opinions and adjudication --------------------------------------
    def blind(self, prediction_ids: list[str], role: str | None) -> set[str]:
        """Of the predictions, those whose labels a caller of `role` may not see yet: a
        second opinion on them is pending, and its reviewer must not see the first
        answer. Admins see everything."""
        if role == "admin" or not prediction_ids:
            return set()
        return self._store.second_opinion_pending(sorted(set(prediction_ids)))

    def answers(self, item: ReviewItem) -> list[Label]:
        """What the two reviewers said, for an adjudication (an empty list otherwise)."""
        if item.reason != "adjudication":
            return []
        labels = self._store.list_labels(item.prediction_id)
        return [lab for lab in labels if lab.source == "review"]

    def release(self, review_id: str, reviewer: str) -> ReviewItem:
        return claims.release(self._store, review_id, reviewer)

    def skip(self, review_id: str, reviewer: str, reason: str) -> ReviewItem:
        """Give the item back, the reason kept on it (claims.skip)."""
        return claims.skip(self._store, review_id, reviewer, reason)
