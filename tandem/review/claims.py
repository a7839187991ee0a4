"""Claims: a reviewer takes a batch of pending items for a while, so several people
working one queue never spend time on the same item. Claims expire (a reviewer who
walks away blocks nothing for long) and are optional: an item nobody holds can still
be decided directly, as API clients did before claims existed."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from tandem.clock import utcnow
from tandem.domain import Prediction, ReviewItem
from tandem.errors import Forbidden
from tandem.review.queue import Aim
from tandem.store.review_queue import ClaimRequest, ReviewQueue

MAX_BATCH = 100
"""Most items one claim call hands out: enough for a batch worker, not the queue."""


@dataclass(frozen=True, slots=True)
class ClaimAsk:
    """A reviewer's ask for a batch, as the API and the pages pass it to the service:
    `count` items of the `aim`ed queue (the whole queue when None), but not those in
    `exclude` (ones they skipped). `role` decides who may take adjudications."""

    reviewer: str
    count: int
    aim: Aim | None = None
    role: str | None = None
    exclude: Collection[str] = ()


def claim(
    store: ReviewQueue, ask: ClaimAsk, ttl_s: float
) -> tuple[datetime, list[tuple[ReviewItem, Prediction]]]:
    """The reviewer's batch: their live claims (renewed) topped up to `ask.count` with
    the first free items (oldest first unless the aim sorts otherwise) that the aim
    matches, all held `ttl_s` seconds from now, but for the items `ask` excludes.
    Returns (expiry, items).

    Adjudications go to admins only (Forbidden when another role aims at them), and a
    second opinion never to the reviewer who gave the first answer."""
    now = utcnow()
    until = now + timedelta(seconds=ttl_s)
    aim = ask.aim
    skip: tuple[str, ...] = ()
    if ask.role != "admin":
        if aim is not None and aim.where.reason == "adjudication":
            raise Forbidden(
                "only an admin may claim adjudication items (where two reviewers disagreed)"
            )
        skip = ("adjudication",)
    request = ClaimRequest(
        ask.reviewer, ask.count, now, until, exclude=ask.exclude, skip_reasons=skip
    )
    if aim is not None:
        request = replace(request, where=aim.where, sort=aim.sort)
    return until, store.claim_reviews(request)


def release(store: ReviewQueue, review_id: str, reviewer: str) -> ReviewItem:
    """Give an item back to the queue before the claim expires."""
    return store.release_review(review_id, reviewer, utcnow())


def skip(store: ReviewQueue, review_id: str, reviewer: str, reason: str) -> ReviewItem:
    """Give an item back with the reason this reviewer passed on it, kept as the item's
    comment (for whoever takes it next) until someone decides it."""
    why = reason.strip() or "no reason given"
    return store.release_review(review_id, reviewer, utcnow(), f"skipped by {reviewer}: {why}")
