"""Live quality over time: how often the model was right on items people labelled, next
to the rule baseline on the same items and to how often two people agree.

Items: every logged prediction of the model that people labelled (review decisions,
including the random holdout, imports and feedback); the final label
(domain.final_label: a reviewer's decision outranks feedback) is the truth. An item
falls in the period its prediction was made in (UTC days, or ISO weeks from Monday).

The baseline is each version's rule-based `fallback`, run here on the logged input
rather than stored at predict time: only labelled items need it (a few per thousand
requests), so this keeps the fallback's cost off every request and works for
predictions logged before this report existed.

Agreement (the human benchmark): on items labelled by two different people, the share
where their labels match. People are told apart by the label's author (the key's name);
a label without one (feedback stored before keys were recorded) counts as its own person.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import combinations
from typing import Literal

import numpy as np

from tandem.clock import maybe_utc, utcnow
from tandem.domain import Label, Prediction
from tandem.errors import InvalidInput, TandemError
from tandem.models.interface import Predictor
from tandem.store.monitoring_store import MonitoringStore

Period = Literal["day", "week"]
PredictorFor = Callable[[str, str], Predictor]
"""(model, version) -> the loaded version, to run its fallback."""


@dataclass(frozen=True, slots=True)
class Score:
    """Accuracy and macro F1 of one answerer on `n` labelled items (None when n is 0)."""

    n: int
    accuracy: float | None
    f1_macro: float | None


@dataclass(frozen=True, slots=True)
class PeriodQuality:
    label: str  # "2026-11-23" or "2026-W47"
    start: datetime
    end: datetime
    items: int
    model: Score
    baseline: Score
    agreement: float | None  # share of double-labelled items where two people agreed
    agreement_items: int
    reviewed: int  # items labelled through review decisions
    holdout: int  # of which sampled at random for the live test set
    feedback: int  # items labelled through feedback


@dataclass(frozen=True, slots=True)
class QualityReport:
    model: str
    by: Period
    since: datetime | None
    until: datetime | None
    periods: tuple[PeriodQuality, ...]
    overall: PeriodQuality
    has_baseline: bool
    notes: tuple[str, ...] = ()


def quality_over_time(
    store: MonitoringStore,
    model: str,
    by: str = "day",
    since: datetime | None = None,
    until: datetime | None = None,
    predictor_for: PredictorFor | None = None,
) -> QualityReport:
    """Per period (and over the whole window): model vs baseline vs people. Without
    `predictor_for` the baseline is left out (n = 0) and a note says so."""
    if by not in ("day", "week"):
        raise InvalidInput(f"by must be 'day' or 'week', got {by!r}")
    period: Period = "day" if by == "day" else "week"
    since, until = maybe_utc(since), maybe_utc(until)
    if since is not None and until is not None and since >= until:
        raise InvalidInput(
            f"since ({since.isoformat()}) must be before until ({until.isoformat()})"
        )
    store.registered_versions(model)

    items = [
        (p, lab)
        for p, lab in store.labelled_predictions(model)
        if (since is None or p.created_at >= since) and (until is None or p.created_at < until)
    ]
    ids = {p.id for p, _ in items}
    by_item: dict[str, list[Label]] = defaultdict(list)
    for label in store.list_labels():
        if label.prediction_id in ids:
            by_item[label.prediction_id].append(label)
    notes: list[str] = []
    baseline = _baseline(items, predictor_for, notes)

    groups: dict[date, list[tuple[Prediction, Label]]] = defaultdict(list)
    for p, lab in items:
        groups[_start(p.created_at.date(), period)].append((p, lab))
    step = timedelta(days=1 if period == "day" else 7)
    periods = []
    first = min(groups) if groups else _start((since or utcnow()).date(), period)
    last = max(groups) if groups else first
    day = first
    while groups and day <= last:  # empty periods too: a gap in labelling shows as a gap
        in_period = groups.get(day, [])
        periods.append(_quality(_name(day, period), day, step, in_period, by_item, baseline))
        day += step
    overall = _quality("overall", first, last - first + step, items, by_item, baseline)
    if not items:
        notes.append(f"no labelled predictions of {model} in the window yet")
    return QualityReport(
        model=model,
        by=period,
        since=since,
        until=until,
        periods=tuple(periods),
        overall=overall,
        has_baseline=predictor_for is not None and baseline.available,
        notes=tuple(notes),
    )


@dataclass
class _Baseline:
    answers: dict[str, str]
    available: bool


def _baseline(
    items: Sequence[tuple[Prediction, Label]], predictor_for: PredictorFor | None, notes: list[str]
) -> _Baseline:
    """The rule baseline's label for each item, from its own version's fallback."""
    if predictor_for is None:
        notes.append("baseline not computed: no model versions were given to run it")
        return _Baseline({}, False)
    answers: dict[str, str] = {}
    unavailable: set[str] = set()
    no_fallback = False
    for p, _ in items:
        try:
            predictor = predictor_for(p.model, p.model_version)
            data = predictor.input_schema.model_validate(p.input)
            answer = predictor.fallback(data)
        except (TandemError, ValueError) as exc:
            unavailable.add(f"{p.model_version} ({exc})")
            continue
        if answer is None:
            no_fallback = True
            continue
        answers[p.id] = predictor.labels[int(np.argmax(answer.probabilities))]
    if unavailable:
        notes.append(
            f"baseline skipped for versions that could not run: {', '.join(sorted(unavailable))}"
        )
    if no_fallback:
        notes.append("some versions have no rule-based fallback: no baseline for their items")
    return _Baseline(answers, not (no_fallback and not answers))


def _quality(
    name: str,
    start: date,
    length: timedelta,
    items: Sequence[tuple[Prediction, Label]],
    by_item: dict[str, list[Label]],
    baseline: _Baseline,
) -> PeriodQuality:
    truth = [lab.label for _, lab in items]
    model = _score(truth, [p.label for p, _ in items])
    with_base = [
        (lab.label, baseline.answers[p.id]) for p, lab in items if p.id in baseline.answers
    ]
    base = _score([t for t, _ in with_base], [b for _, b in with_base])
    agreed, pairs = 0.0, 0
    for p, _ in items:
        found = _agreement(by_item.get(p.id, []))
        if found is not None:
            pairs += 1
            agreed += found
    sources = [{lab.source for lab in by_item.get(p.id, [])} for p, _ in items]
    began = datetime.combine(start, time(), tzinfo=UTC)
    return PeriodQuality(
        label=name,
        start=began,
        end=began + length,
        items=len(items),
        model=model,
        baseline=base,
        agreement=round(agreed / pairs, 4) if pairs else None,
        agreement_items=pairs,
        reviewed=sum("review" in s for s in sources),
        holdout=sum(p.holdout for p, _ in items),
        feedback=sum("feedback" in s for s in sources),
    )


def _agreement(labels: list[Label]) -> float | None:
    """Share of pairs of different people whose labels match; None if one person."""
    latest: dict[str, str] = {}
    for lab in labels:  # oldest first: a person's later label replaces their earlier one
        latest[lab.author or f"{lab.source}:{lab.source_id}"] = lab.label
    if len(latest) < 2:
        return None
    matches = [a == b for a, b in combinations(latest.values(), 2)]
    return sum(matches) / len(matches)


def _score(truth: Sequence[str], answered: Sequence[str]) -> Score:
    if not truth:
        return Score(0, None, None)
    return Score(
        len(truth), round(_accuracy(truth, answered), 4), round(f1_macro(truth, answered), 4)
    )


def _accuracy(truth: Sequence[str], answered: Sequence[str]) -> float:
    return sum(t == a for t, a in zip(truth, answered, strict=True)) / len(truth)


def f1_macro(truth: Sequence[str], answered: Sequence[str]) -> float:
    """Mean F1 over every label seen in either list (scikit-learn's `f1_score(...,
    average="macro")` with zero_division=0), without importing scikit-learn."""
    scores = []
    for label in sorted(set(truth) | set(answered)):
        tp = sum(t == label and a == label for t, a in zip(truth, answered, strict=True))
        predicted = sum(a == label for a in answered)
        actual = sum(t == label for t in truth)
        scores.append(2 * tp / (predicted + actual) if predicted + actual else 0.0)
    return sum(scores) / len(scores)


def _start(day: date, period: Period) -> date:
    return day if period == "day" else day - timedelta(days=day.weekday())


def _name(day: date, period: Period) -> str:
    if period == "day":
        return day.isoformat()
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"
