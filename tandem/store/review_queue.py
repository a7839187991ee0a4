"""The review queue (items, claims, decisions) and what people say about
predictions: feedback and labels."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tandem.domain import Feedback, Label, Prediction, QueueFilter, ReviewItem, ReviewSort
from tandem.store.prediction_log import PredictionReads


@dataclass(frozen=True, slots=True)
class DoubleReview:
    """A prediction two people reviewed: the first decision and its second opinion."""

    prediction_id: str
    model: str
    first_reviewer: str
    first_label: str
    second_reviewer: str
    second_label: str
    decided_at: datetime
    """When the second opinion was given."""


@dataclass(frozen=True, slots=True)
class DecisionTime:
    """One decision of a reviewer who had claimed the item: when the claim began and
    when they decided."""

    reviewer: str
    model: str
    claimed_at: datetime
    decided_at: datetime


@dataclass(frozen=True, slots=True)
class Decision:
    """A reviewer's answer on one item, as decide_review records it: the label given
    by `reviewer` with `role` at `at`, from `source`."""

    review_id: str
    label: str
    reviewer: str
    comment: str | None
    at: datetime
    role: str | None = None
    source: str = "review"
    second_opinion: bool = False
    """Whether a second reviewer is to check this decision."""


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """A reviewer asking for `count` items held from `now` until `until`: of the queue
    `where` matches (any pending item when None), in `sort` order, but for the items in
    `exclude` (ones this reviewer skipped) and those of a reason in `skip_reasons`."""

    reviewer: str
    count: int
    now: datetime
    until: datetime
    where: QueueFilter | None = None
    sort: ReviewSort = "oldest"
    exclude: Collection[str] = ()
    skip_reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PageQuery:
    """A page of the queue: at most `limit` items matching `where`, in `sort` order
    (domain.review_sort_key), starting just after the key `after`: the same cost at
    any depth. `offset` skips rows one by one (kept for older clients; its cost grows
    with it)."""

    where: QueueFilter
    sort: ReviewSort
    limit: int
    after: tuple[Any, ...] | None = None
    offset: int = 0


@dataclass(frozen=True, slots=True)
class LabelledPageQuery:
    """A page of labelled predictions (of `model`, when given), in (created_at, id)
    order after the cursor `after`; with `since`, only predictions given a label at
    or after that time."""

    model: str | None
    since: datetime | None
    after: tuple[datetime, str] | None
    limit: int


class LabelReads(ABC):
    """Feedback and labels as read by the domains that learn from them (evaluation,
    retraining, post-mortems)."""

    @abstractmethod
    def list_feedback(self, prediction_id: str) -> list[Feedback]: ...

    @abstractmethod
    def list_labels(self, prediction_id: str | None = None) -> list[Label]: ...

    @abstractmethod
    def labelled_predictions(self, model: str) -> list[tuple[Prediction, Label]]:
        """Every prediction of `model` that people labelled, with its final label
        (domain.final_label: adjudication > review > import > feedback, then the
        latest; the label keeps its source)."""

    @abstractmethod
    def labelled_page(self, query: LabelledPageQuery) -> list[tuple[Prediction, list[Label]]]:
        """The page `query` asks for, each prediction with all its labels."""

    @abstractmethod
    def double_reviews(
        self, model: str | None, since: datetime | None, until: datetime | None
    ) -> list[DoubleReview]:
        """Every decided second opinion (given in [since, until)) with the decision it
        checked, oldest first."""

    @abstractmethod
    def decision_times(
        self, model: str | None, since: datetime | None, until: datetime | None
    ) -> list[DecisionTime]:
        """Decisions made in [since, until) on items their decider had claimed, oldest
        first."""

    @abstractmethod
    def first_labelled_at(self, model: str) -> dict[str, datetime]:
        """When each labelled prediction of `model` got its first label: a relabel
        does not make an item a version trained on unseen (see registry.training_labels)."""


class ReviewQueue(PredictionReads, LabelReads):
    # -- review items ----------------------------------------------------------
    @abstractmethod
    def get_review(self, review_id: str) -> ReviewItem: ...

    @abstractmethod
    def list_reviews(
        self, status: str | None, limit: int = 50, offset: int = 0
    ) -> list[tuple[ReviewItem, Prediction]]: ...

    @abstractmethod
    def count_reviews(self, status: str | None = None) -> int:
        """Read from the per-bucket counts: a few rows whatever the queue's size."""

    @abstractmethod
    def queue_page(self, query: PageQuery) -> list[tuple[ReviewItem, Prediction]]:
        """The page `query` asks for (see PageQuery)."""

    @abstractmethod
    def queue_counts(self) -> dict[tuple[str, str, str], tuple[int, int]]:
        """(pending, decided) per (model, reason, predicted label) that ever had items."""

    @abstractmethod
    def count_capped(self, where: QueueFilter, cap: int) -> int:
        """How many items match `where`, counting no further than `cap`."""

    @abstractmethod
    def decide_review(
        self, decision: Decision, check: Callable[[Prediction], None] | None = None
    ) -> ReviewItem:
        """The whole decision in one transaction: read the item's prediction and pass
        it to `check` (which raises to refuse the decision), mark the item decided and
        its claim ended, record the decision's label. Nothing is written unless all of
        it is.

        Then what follows from it: with `decision.second_opinion`, a pending item
        (reason `second_opinion`) that follows this one and is blind to its reviewer;
        deciding a second opinion whose label differs from the item it follows, a
        pending item (reason `adjudication`) that follows the second opinion.

        Raise NotFound for an unknown item, and Conflict if it was already decided or
        another reviewer's claim holds it: two reviewers racing must not both win."""

    # -- claims ----------------------------------------------------------------
    @abstractmethod
    def claim_reviews(self, request: ClaimRequest) -> list[tuple[ReviewItem, Prediction]]:
        """Give the reviewer a batch of pending items matching `where`, held until
        `until`, in `sort` order: the live claims they already hold that match
        (renewed), topped up to `count` with items nobody holds at `now` (never
        claimed, released, or expired), none of a reason in `skip_reasons` and none
        blind to the reviewer. Held items outside `where` are left as they are. Items
        in `exclude` are neither taken nor renewed.

        Atomic: reviewers claiming at the same moment never get the same item."""

    @abstractmethod
    def release_review(
        self, review_id: str, reviewer: str, now: datetime, note: str | None = None
    ) -> ReviewItem:
        """Drop `reviewer`'s claim so anyone may take the item; a no-op when nobody
        holds it. Conflict if it was decided or someone else holds it. A `note` (why a
        reviewer skipped it) is kept as the item's comment until someone decides it."""

    @abstractmethod
    def undo_review(
        self, review_id: str, reviewer: str, now: datetime, since: datetime, until: datetime
    ) -> ReviewItem:
        """Take back `reviewer`'s decision made at or after `since`, in one transaction:
        the item pending again, held by `reviewer` until `until` (they decide it anew
        or release it), and the label the decision recorded withdrawn.

        NotFound for an unknown item; Conflict if it is not decided, was decided by
        someone else, or before `since`."""

    @abstractmethod
    def second_opinion_pending(self, prediction_ids: list[str]) -> set[str]:
        """Those of the predictions with a second opinion still pending."""

    @abstractmethod
    def list_free_reviews(
        self, now: datetime, limit: int = 50, offset: int = 0
    ) -> list[tuple[ReviewItem, Prediction]]:
        """Pending items nobody holds at `now`, oldest first: what a reviewer may take."""

    # -- feedback --------------------------------------------------------------
    @abstractmethod
    def add_feedback(self, item: Feedback, label: Label | None) -> None:
        """Store feedback (and the label it carries) on a logged prediction; NotFound
        when the prediction is unknown."""

    @abstractmethod
    def add_labels(self, labels: list[Label]) -> None:
        """Store labels made elsewhere, all or none; NotFound naming an unknown
        prediction."""
