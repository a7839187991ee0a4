"""Which labels from people a version was trained on, so that promotion evidence never
tests a version on an item it learned.

A retrained version's metrics keep a record of its training labels: how many, the
earliest and latest label time (the latest is its cut-off) and a hash of the
(prediction id, label) set. The record is small on purpose (versions are re-read every
second by each worker), so the items it trained on are found again from the store: every
non-holdout item labelled at or before the cut-off. That is a superset of the training
set (a later relabel of such an item does not make it unseen), which can only make the
evaluation set smaller, never dishonest."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tandem.domain import Label, ModelVersion, Prediction

RECORD = "training_labels"
"""The key of the record in a version's metrics."""

TOO_FEW = 30
"""Below this many evaluation labels, a difference in accuracy is not evidence."""


def label_set_hash(pairs: Iterable[tuple[str, str]]) -> str:
    """SHA-256 of the sorted (prediction id, label) pairs: changes with any pair."""
    digest = hashlib.sha256()
    for prediction_id, label in sorted(pairs):
        digest.update(json.dumps([prediction_id, label]).encode() + b"\n")
    return digest.hexdigest()


def training_record(used: Sequence[tuple[Prediction, Label]], evaluated_on: int) -> dict[str, Any]:
    """The record a retrained version keeps of the labels it was trained on, and how
    many holdout labels it was evaluated on when trained."""
    times = [label.created_at for _, label in used]
    return {
        "count": len(used),
        "earliest": min(times).isoformat() if times else None,
        "latest": max(times).isoformat() if times else None,
        "hash": label_set_hash((p.id, label.label) for p, label in used),
        "holdout_evaluated": evaluated_on,
    }


def record_of(mv: ModelVersion) -> dict[str, Any] | None:
    """A version's training-label record; None for a version trained on its dataset."""
    record = mv.metrics.get(RECORD)
    return record if isinstance(record, dict) else None


def cutoff(mv: ModelVersion) -> datetime | None:
    """The time of the newest label `mv` was trained on (None: it trained on none)."""
    record = record_of(mv)
    latest = record.get("latest") if record else None
    return datetime.fromisoformat(latest) if latest else None


@dataclass(frozen=True)
class EvaluationSet:
    """The labelled items neither version was trained on, and what was left out."""

    items: list[tuple[Prediction, Label]]
    labelled: int
    trained_on: dict[str, int]  # side -> labelled items that side may have trained on

    def summary(self) -> dict[str, Any]:
        n = len(self.items)
        holdout = sum(1 for p, _ in self.items if p.holdout)
        return {
            "items": n,
            "holdout": holdout,
            "after_training": n - holdout,
            "labelled": self.labelled,
            "excluded_trained_on": dict(self.trained_on),
            "too_few": n < TOO_FEW,
            "note": (
                f"only {n} labels neither version was trained on: too few to tell"
                if n < TOO_FEW
                else None
            ),
        }


def evaluation_set(
    labelled: Sequence[tuple[Prediction, Label]],
    first_labelled: dict[str, datetime],
    versions: dict[str, ModelVersion],
) -> EvaluationSet:
    """The items of `labelled` (latest label per item) that none of `versions` (side ->
    version) may have trained on: holdout items, and items first labelled (see
    `first_labelled`: prediction id -> time) after the version's cut-off."""
    cutoffs = {side: cutoff(mv) for side, mv in versions.items()}

    def trained(side: str, p: Prediction) -> bool:
        until = cutoffs[side]
        return until is not None and not p.holdout and first_labelled.get(p.id, until) <= until

    items = [(p, label) for p, label in labelled if not any(trained(side, p) for side in cutoffs)]
    counts = {side: sum(1 for p, _ in labelled if trained(side, p)) for side in cutoffs}
    return EvaluationSet(items, len(labelled), counts)
