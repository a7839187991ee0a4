"""Turn the store's facts over a window into the numbers a stakeholder asks for.

Everything is computed here, once, so the page, the HTML export and the PDF can
never disagree."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np

from tandem.clock import utcnow
from tandem.domain import Feedback
from tandem.errors import TandemError
from tandem.incidents import Alert
from tandem.monitor.agreement import ReviewerStats, reviewer_stats
from tandem.monitor.model_drift import drift_for
from tandem.monitor.quality import PredictorFor, quality_over_time
from tandem.report.usefulness import Usefulness, usefulness
from tandem.store.editor_store import EditorStore
from tandem.store.report_store import PredictionFacts, ReportReads, ReviewFacts

ROUTES = ("model", "review", "fallback")


@dataclass(frozen=True, slots=True)
class Volume:
    total: int
    by_route: dict[str, int]
    by_model: dict[str, int]
    holdout: int
    days: list[date]
    per_day: dict[str, list[int]]  # route -> count per day, aligned with `days`


@dataclass(frozen=True, slots=True)
class Speed:
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    days: list[date]
    p50_per_day: list[float | None]
    p95_per_day: list[float | None]


@dataclass(frozen=True, slots=True)
class ReviewWork:
    created: int
    decided: int
    pending: int
    reviewers: dict[str, int]  # reviewer -> decisions
    median_hours_to_decision: float | None
    oldest_pending_hours: float | None
    answered_without_review: int  # predictions nobody had to look at
    share_without_review: float | None


@dataclass(frozen=True, slots=True)
class ModelQuality:
    """Accuracy on the items people labelled in the window: the model, the rule
    baseline on the same items, and people against each other (the human benchmark)."""

    model: str
    items: int
    accuracy: float | None
    baseline_accuracy: float | None
    agreement: float | None
    agreement_items: int
    weeks: list[str]
    weekly_model: list[float | None]
    weekly_baseline: list[float | None]
    weekly_agreement: list[float | None]


@dataclass(frozen=True, slots=True)
class DriftStatus:
    model: str
    drifted: bool | None  # None: not measurable (no reference, too few rows)
    drifted_features: tuple[str, ...]
    message: str


@dataclass(frozen=True, slots=True)
class Report:
    since: datetime
    until: datetime
    generated_at: datetime
    model: str | None
    volume: Volume
    speed: Speed
    review: ReviewWork
    bugs: list[Feedback] = field(default_factory=list)
    quality: list[ModelQuality] = field(default_factory=list)
    drift: list[DriftStatus] = field(default_factory=list)
    open_alerts: list[Alert] = field(default_factory=list)
    reviewers: ReviewerStats = field(default_factory=lambda: ReviewerStats((), (), ()))
    """Kappa per model and reviewer pair, seconds per decision (monitor.agreement)."""
    usefulness: list[Usefulness] = field(default_factory=list)
    """For each model with writers' drafts in the window: whether its suggestions help
    (the lead metric for such a model)."""


def _days(since: datetime, until: datetime) -> list[date]:
    first, last = since.date(), (until - timedelta(microseconds=1)).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _pct(values: np.ndarray, q: float) -> float | None:
    return float(np.percentile(values, q)) if values.size else None


@dataclass(frozen=True, slots=True)
class ReportSources:
    """What a report reads: the store's facts; `predictor_for` loads a version so the
    rule baseline can answer the labelled items (None: no baseline); `editor` reads
    writers' drafts, for the usefulness of suggestions (None: not shown)."""

    store: ReportReads
    predictor_for: PredictorFor | None = None
    editor: EditorStore | None = None


def _quality(sources: ReportSources, model: str, since: datetime, until: datetime) -> ModelQuality:
    try:
        q = quality_over_time(sources.store, model, "week", since, until, sources.predictor_for)
    except TandemError:  # predictions of a model no longer registered: nothing to score
        return ModelQuality(model, 0, None, None, None, 0, [], [], [], [])
    return ModelQuality(
        model=model,
        items=q.overall.items,
        accuracy=q.overall.model.accuracy,
        baseline_accuracy=q.overall.baseline.accuracy,
        agreement=q.overall.agreement,
        agreement_items=q.overall.agreement_items,
        weeks=[p.label for p in q.periods],
        weekly_model=[p.model.accuracy for p in q.periods],
        weekly_baseline=[p.baseline.accuracy for p in q.periods],
        weekly_agreement=[p.agreement for p in q.periods],
    )


def _drift(store: ReportReads, model: str, since: datetime, until: datetime) -> DriftStatus:
    try:
        d = drift_for(store, model, since, until)
    except TandemError as exc:  # e.g. a version registered without a drift reference
        return DriftStatus(model, None, (), exc.message)
    return DriftStatus(
        model, d.drifted if d.enough_data else None, tuple(d.drifted_features), d.message
    )


def build(
    sources: ReportSources,
    since: datetime,
    until: datetime,
    model: str | None = None,
    now: datetime | None = None,
) -> Report:
    """Everything the report shows for [since, until), as of `now` (default: the
    current time; pending items' ages count up to it)."""
    now = now or utcnow()
    store, editor = sources.store, sources.editor
    days = _days(since, until)
    day_index = {d: i for i, d in enumerate(days)}
    preds = store.prediction_facts(since, until, model)
    reviews = store.review_facts(since, until, model)

    pred_day = np.asarray([day_index[c.date()] for c in preds.created_at], dtype=int)
    volume = _volume(preds, days, pred_day)
    return Report(
        since=since,
        until=until,
        generated_at=now,
        model=model,
        volume=volume,
        speed=_speed(np.asarray(preds.latency_ms, dtype=float), days, pred_day),
        review=_review_work(reviews, volume, now),
        bugs=store.feedback_of_kind("bug", since, until, limit=10),
        quality=[_quality(sources, m, since, until) for m in sorted(volume.by_model)],
        drift=[_drift(store, m, since, until) for m in sorted(volume.by_model)],
        open_alerts=store.list_alerts(state="firing"),
        reviewers=reviewer_stats(store, model, since, until),
        usefulness=[
            u
            for m in sorted(volume.by_model)
            if editor is not None and (u := usefulness(editor, m, since, until)) is not None
        ],
    )


def _volume(preds: PredictionFacts, days: list[date], pred_day: np.ndarray) -> Volume:
    per_day = {r: [0] * len(days) for r in ROUTES}
    by_route: dict[str, int] = {}
    by_model: dict[str, int] = {}
    for route, name, d in zip(preds.route, preds.model, pred_day, strict=True):
        per_day.setdefault(route, [0] * len(days))[d] += 1
        by_route[route] = by_route.get(route, 0) + 1
        by_model[name] = by_model.get(name, 0) + 1
    return Volume(
        total=len(preds.route),
        by_route=by_route,
        by_model=by_model,
        holdout=sum(preds.holdout),
        days=days,
        per_day=per_day,
    )


def _speed(latency: np.ndarray, days: list[date], pred_day: np.ndarray) -> Speed:
    p50_day: list[float | None] = []
    p95_day: list[float | None] = []
    for i in range(len(days)):
        values = latency[pred_day == i]
        p50_day.append(_pct(values, 50))
        p95_day.append(_pct(values, 95))
    return Speed(
        p50_ms=_pct(latency, 50),
        p95_ms=_pct(latency, 95),
        p99_ms=_pct(latency, 99),
        days=days,
        p50_per_day=p50_day,
        p95_per_day=p95_day,
    )


def _review_work(reviews: ReviewFacts, volume: Volume, now: datetime) -> ReviewWork:
    """Decisions by reviewer, waits and pending ages (up to `now`); how many of the
    window's predictions were answered without review."""
    reviewers: dict[str, int] = {}
    waits: list[float] = []
    pending_ages: list[float] = []
    for created, decided, status, who in zip(
        reviews.created_at, reviews.decided_at, reviews.status, reviews.reviewer, strict=True
    ):
        if status == "decided" and decided is not None:
            reviewers[who or "unknown"] = reviewers.get(who or "unknown", 0) + 1
            waits.append((decided - created).total_seconds() / 3600)
        elif status == "pending":
            pending_ages.append((now - created).total_seconds() / 3600)
    without_review = volume.total - volume.by_route.get("review", 0)
    return ReviewWork(
        created=len(reviews.status),
        decided=sum(reviewers.values()),
        pending=len(pending_ages),
        reviewers=dict(sorted(reviewers.items(), key=lambda kv: -kv[1])),
        median_hours_to_decision=float(np.median(waits)) if waits else None,
        oldest_pending_hours=max(pending_ages) if pending_ages else None,
        answered_without_review=without_review,
        share_without_review=without_review / volume.total if volume.total else None,
    )
