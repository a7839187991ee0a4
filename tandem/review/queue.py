"""Aiming the review queue: which items (filters), in which order (sorts), where a
page starts (an opaque cursor), and how many items each filter value holds.

A cursor is the last item's sort key, so the next page starts right after it: the
same cost at any depth, and paging stays exact while items are added or decided
(an item is never shown twice, and one added ahead of the cursor is met later)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, get_args

from tandem.clock import as_utc, utcnow
from tandem.domain import (
    REVIEW_REASONS,
    REVIEW_SORTS,
    QueueFilter,
    ReviewItem,
    ReviewSort,
    ReviewStatus,
    review_sort_key,
)
from tandem.errors import InvalidInput

COUNT_CAP = 10_000
"""An age filter's total is counted this far at most (the per-bucket counts know
nothing of age); beyond it a page says "10,000+"."""

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_age(value: str | None, name: str) -> timedelta | None:
    """An age as a person types it: seconds, or a number with s, m, h, d or w."""
    if value is None or not value.strip():
        return None
    match = _AGE.match(value)
    if match is None:
        raise InvalidInput(f"{name}={value!r} is not an age; use seconds or e.g. 90s, 30m, 2h, 7d")
    return timedelta(seconds=float(match[1]) * _UNITS[match[2]])


def encode_cursor(sort: ReviewSort, item: ReviewItem) -> str:
    """Opaque to clients: the sort and the item's key under it, as base64url JSON."""
    key = [k.isoformat() if isinstance(k, datetime) else k for k in review_sort_key(item, sort)]
    raw = json.dumps([sort, *key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: ReviewSort) -> tuple[Any, ...]:
    """The key a cursor holds; InvalidInput for anything a cursor from this API is not."""
    bad = InvalidInput(
        f"cursor={cursor[:80]!r} is not a cursor from this queue: pass the next_cursor "
        "of the previous page unchanged, with the same sort, or leave it out to start "
        "from the top"
    )
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad from None
    if not isinstance(data, list) or not data or data[0] not in REVIEW_SORTS:
        raise bad
    if data[0] != sort:
        raise InvalidInput(
            f"the cursor was made for sort={data[0]!r}, not sort={sort!r}; "
            "start again from the top to change the sort"
        )
    key = data[1:]
    try:
        if sort == "oldest" and len(key) == 2 and isinstance(key[1], str):
            return (as_utc(datetime.fromisoformat(key[0])), key[1])
        if sort == "least_confident" and len(key) == 2 and isinstance(key[1], str):
            return (float(key[0]), key[1])
        if sort == "priority" and len(key) == 3 and isinstance(key[2], str):
            return (int(key[0]), float(key[1]), key[2])
    except (TypeError, ValueError):
        pass
    raise bad


@dataclass(frozen=True, slots=True)
class Aim:
    """A queue filter as asked for, checked against what the queue knows."""

    where: QueueFilter
    sort: ReviewSort


@dataclass(frozen=True, slots=True)
class QueueAsk:
    """The queue as a client asked for it, not yet checked: filter values as given
    (blank means not given), the sort's name, and ages as typed (parse_age)."""

    status: ReviewStatus | None = "pending"
    model: str | None = None
    reason: str | None = None
    label: str | None = None
    sort: str = "oldest"
    older_than: str | None = None
    newer_than: str | None = None


def _blank_none(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def _one_of(name: str, value: str | None, valid: Iterable[str]) -> None:
    options = sorted(set(valid))
    if value is not None and value not in options:
        shown = ", ".join(options) if options else "(none yet)"
        raise InvalidInput(f"{name}={value!r} is not one of the valid values: {shown}")


def aim(
    counts: dict[tuple[str, str, str], tuple[int, int]],
    served_labels: dict[str, tuple[str, ...]],
    asked: QueueAsk,
) -> Aim:
    """Check every filter value (422 listing the valid ones, never silently ignored).

    Valid models are those served or with items in the queue; valid labels, those a
    served model offers or an item carries (of `model` when it is given)."""
    sort, status = asked.sort, asked.status
    if sort not in REVIEW_SORTS:
        valid = ", ".join(REVIEW_SORTS)
        raise InvalidInput(f"sort={sort!r} is not one of the valid values: {valid}")
    if status not in (None, *get_args(ReviewStatus)):
        raise InvalidInput(f"status={status!r} is not one of: pending, decided")
    model, reason, label = (_blank_none(v) for v in (asked.model, asked.reason, asked.label))
    _one_of("reason", reason, REVIEW_REASONS)
    _one_of("model", model, {m for m, _r, _lab in counts} | served_labels.keys())
    labels = {lab for m, _r, lab in counts if model in (None, m)}
    for name, offered in served_labels.items():
        if model in (None, name):
            labels |= set(offered)
    _one_of("label", label, labels)
    now = utcnow()
    older = parse_age(asked.older_than, "older_than")
    newer = parse_age(asked.newer_than, "newer_than")
    where = QueueFilter(
        status=status,
        model=model,
        reason=reason,
        label=label,
        created_before=now - older if older is not None else None,
        created_after=now - newer if newer is not None else None,
    )
    return Aim(where, sort)


def facet_counts(
    counts: dict[tuple[str, str, str], tuple[int, int]], where: QueueFilter
) -> dict[str, dict[str, int]]:
    """Items per value of each filter (model, reason, label), each under the other
    filters: what choosing that value would show. Age is not counted here."""
    out: dict[str, dict[str, int]] = {"model": defaultdict(int), "reason": defaultdict(int)}
    out["label"] = defaultdict(int)
    for (model, reason, label), (pending, decided) in counts.items():
        n = (pending if where.status in (None, "pending") else 0) + (
            decided if where.status in (None, "decided") else 0
        )
        if n <= 0:
            continue
        if where.reason in (None, reason) and where.label in (None, label):
            out["model"][model] += n
        if where.model in (None, model) and where.label in (None, label):
            out["reason"][reason] += n
        if where.model in (None, model) and where.reason in (None, reason):
            out["label"][label] += n
    return {k: dict(sorted(v.items())) for k, v in out.items()}


def exact_total(counts: dict[tuple[str, str, str], tuple[int, int]], where: QueueFilter) -> int:
    """Items matching `where` but for age, from the per-bucket counts."""
    return sum(
        (p if where.status in (None, "pending") else 0)
        + (d if where.status in (None, "decided") else 0)
        for bucket, (p, d) in counts.items()
        if where.matches(*bucket)
    )
