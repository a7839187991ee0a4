"""How far reviewers agree and how fast they decide: the human benchmark.

Agreement is Cohen's kappa over the items two people reviewed (a first decision and
its second opinion, see review.service.second_opinion_wanted): per model, and per
pair of reviewers. Kappa is the agreement beyond what chance would give with each
reviewer's own mix of labels: 1 is full agreement, 0 no better than chance.

Speed is seconds per decision, per reviewer: from the later of the claim and that
reviewer's previous decision, to the decision. A batch claim (the review page claims
a screenful) thus counts each item from the decision before it, not from the claim.
Decisions made without a claim have no start and are not timed.

Below the minimum counts a figure is "too few to tell" (None): under 20 items, one
item more or less moves kappa by more than 0.1."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tandem.store.review_queue import DecisionTime, DoubleReview, LabelReads

MIN_KAPPA_ITEMS = 20
"""Items reviewed twice below which kappa is "too few to tell"."""
MIN_TIMED_DECISIONS = 10
"""Timed decisions below which a reviewer's median is "too few to tell"."""


@dataclass(frozen=True, slots=True)
class Agreement:
    """Kappa of one model's (or one pair's) items reviewed twice."""

    name: str
    """The model, or the two reviewers as "a & b" (sorted)."""
    items: int
    agreed: int
    kappa: float | None
    """None: fewer than MIN_KAPPA_ITEMS items, or kappa undefined (both gave one label)."""


@dataclass(frozen=True, slots=True)
class Pace:
    reviewer: str
    decisions: int
    """Timed decisions."""
    median_s: float | None
    """None: fewer than MIN_TIMED_DECISIONS."""


@dataclass(frozen=True, slots=True)
class ReviewerStats:
    by_model: tuple[Agreement, ...]
    by_pair: tuple[Agreement, ...]
    pace: tuple[Pace, ...]
    min_kappa_items: int = MIN_KAPPA_ITEMS
    min_timed_decisions: int = MIN_TIMED_DECISIONS


def cohen_kappa(first: Sequence[str], second: Sequence[str]) -> float | None:
    """Cohen's kappa of two raters' labels on the same items (scikit-learn's
    `cohen_kappa_score`, without importing scikit-learn); None when undefined (no
    items, or chance agreement is 1: both raters always gave the same one label)."""
    n = len(first)
    if n == 0 or n != len(second):
        return None
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    ones, twos = Counter(first), Counter(second)
    expected = sum(ones[label] * twos[label] for label in ones) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def _agreement(name: str, pairs: Sequence[tuple[str, str]]) -> Agreement:
    kappa = cohen_kappa([a for a, _ in pairs], [b for _, b in pairs])
    return Agreement(
        name=name,
        items=len(pairs),
        agreed=sum(a == b for a, b in pairs),
        kappa=round(kappa, 4) if kappa is not None and len(pairs) >= MIN_KAPPA_ITEMS else None,
    )


def agreements(reviews: Sequence[DoubleReview]) -> tuple[list[Agreement], list[Agreement]]:
    """(per model, per reviewer pair), each sorted by name."""
    by_model: dict[str, list[tuple[str, str]]] = defaultdict(list)
    by_pair: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for r in reviews:
        by_model[r.model].append((r.first_label, r.second_label))
        # Kappa is symmetric in its two raters; orient each item by the pair's names so
        # one reviewer's labels always sit on the same side.
        if r.first_reviewer <= r.second_reviewer:
            key, labels = (r.first_reviewer, r.second_reviewer), (r.first_label, r.second_label)
        else:
            key, labels = (r.second_reviewer, r.first_reviewer), (r.second_label, r.first_label)
        by_pair[key].append(labels)
    return (
        [_agreement(m, pairs) for m, pairs in sorted(by_model.items())],
        [_agreement(f"{a} & {b}", pairs) for (a, b), pairs in sorted(by_pair.items())],
    )


def pace(decisions: Sequence[DecisionTime]) -> list[Pace]:
    """Seconds per decision for each reviewer (see the module's docstring), by name."""
    seconds: dict[str, list[float]] = defaultdict(list)
    previous: dict[str, datetime] = {}
    for d in sorted(decisions, key=lambda d: d.decided_at):
        began = max(d.claimed_at, previous.get(d.reviewer, d.claimed_at))
        seconds[d.reviewer].append(max((d.decided_at - began).total_seconds(), 0.0))
        previous[d.reviewer] = d.decided_at
    return [
        Pace(
            who,
            len(times),
            round(statistics.median(times), 2) if len(times) >= MIN_TIMED_DECISIONS else None,
        )
        for who, times in sorted(seconds.items())
    ]


def reviewer_stats(
    store: LabelReads,
    model: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> ReviewerStats:
    """Kappa per model and per pair, and seconds per decision per reviewer, over the
    decisions made in [since, until) (of `model` when given)."""
    by_model, by_pair = agreements(store.double_reviews(model, since, until))
    return ReviewerStats(
        tuple(by_model), tuple(by_pair), tuple(pace(store.decision_times(model, since, until)))
    )
