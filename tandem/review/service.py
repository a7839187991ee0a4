"""Review decisions and feedback: the rules that turn human answers into labels."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from tandem.clock import utcnow
from tandem.domain import FOLLOW_UP_REASONS, FeedbackKind, Prediction, ReviewItem
from tandem.errors import Forbidden, InvalidInput
from tandem.store.review_queue import Decision, ReviewQueue


def known_labels(prediction: Prediction) -> list[str]:
    """The labels a person may choose for a prediction: every label its model offered."""
    return [str(a["label"]) for a in prediction.alternatives]


def check_label(prediction: Prediction, label: str) -> None:
    labels = known_labels(prediction)
    if label not in labels:
        raise InvalidInput(f"label {label!r} is not one of the model's labels: {', '.join(labels)}")


def second_opinion_wanted(prediction_id: str, rate: float) -> bool:
    """Whether a prediction's first decision goes to a second reviewer: the first 8
    bytes of the SHA-256 of its id, as a fraction of 2**64, below `rate`. The same
    prediction always gets the same answer (so tests and reruns agree), and ids are
    random, so the share is `rate`."""
    if rate <= 0:
        return False
    digest = hashlib.sha256(prediction_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def check_may_decide(item: ReviewItem, reviewer: str, role: str | None) -> None:
    """Adjudication is for admins; a second opinion is for anyone but the first reviewer."""
    if item.reason == "adjudication" and role != "admin":
        raise Forbidden(
            f"review item {item.id!r} is an adjudication (two reviewers disagreed): only an "
            "admin may claim or decide it"
        )
    if item.blind_to is not None and item.blind_to == reviewer:
        raise Forbidden(
            f"review item {item.id!r} asks for a second opinion on your own decision: "
            "another reviewer must give it"
        )


def decide(
    store: ReviewQueue,
    review_id: str,
    label: str,
    reviewer: str,
    comment: str | None,
    role: str | None = None,
    second_opinion_rate: float = 0.0,
) -> ReviewItem:
    """Record a reviewer's decision and its label, in one transaction with the check
    that the label is one the model offered; a second decision is a Conflict.

    An adjudication's label has source `adjudication` (it outranks both reviews). A
    first decision is sent to a second reviewer for `second_opinion_rate` of the
    predictions (second_opinion_wanted)."""
    item = store.get_review(review_id)
    check_may_decide(item, reviewer, role)
    wanted = item.reason not in FOLLOW_UP_REASONS and second_opinion_wanted(
        item.prediction_id, second_opinion_rate
    )
    decision = Decision(
        review_id,
        label,
        reviewer,
        comment,
        utcnow(),
        role=role,
        source="adjudication" if item.reason == "adjudication" else "review",
        second_opinion=wanted,
    )
    return store.decide_review(decision, check=lambda prediction: check_label(prediction, label))


UNDO_S = 60
"""How long a reviewer may take back their own decision: time to catch a slip of the
key, short enough that a label is not withdrawn after others may have used it."""


def undo(store: ReviewQueue, review_id: str, reviewer: str, claim_ttl_s: float) -> ReviewItem:
    """Take back `reviewer`'s decision of the last UNDO_S seconds: the item is pending
    again and held by them for a claim's time, and its label withdrawn. Conflict past
    UNDO_S or for someone else's decision."""
    now = utcnow()
    since, until = now - timedelta(seconds=UNDO_S), now + timedelta(seconds=claim_ttl_s)
    return store.undo_review(review_id, reviewer, now, since, until)


def resolve_feedback_label(
    prediction: Prediction, kind: FeedbackKind, label: str | None
) -> str | None:
    """The label a piece of feedback implies, if any.

    `correct` confirms the model's label; `incorrect` names the right one, which
    for a two-label model is the other label when none is given."""
    if label is not None:
        check_label(prediction, label)
    if kind == "correct":
        if label is not None and label != prediction.label:
            raise InvalidInput(
                f"feedback says the prediction is correct but gives label {label!r}, "
                f"while the model said {prediction.label!r}; use kind 'incorrect'"
            )
        return prediction.label
    if kind == "incorrect":
        if label == prediction.label:
            raise InvalidInput(
                f"feedback says the prediction is incorrect but gives the model's own label "
                f"{label!r}; give the right label or use kind 'correct'"
            )
        if label is None:
            others = [lab for lab in known_labels(prediction) if lab != prediction.label]
            return others[0] if len(others) == 1 else None
        return label
    return label  # a bug report may carry a corrected label too
