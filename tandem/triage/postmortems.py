"""Post-mortems: a blameless record of what happened to some predictions, why, and
what will be done about it.

Opening one snapshots the linked predictions (input, features, output, model version,
feedback and labels) into the record, so it still says what was seen then after the
logged data changes; the timeline starts with the facts the log already knows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tandem.clock import as_utc, utcnow
from tandem.domain import Prediction, shallow_dict
from tandem.errors import InvalidInput, NotFound
from tandem.ids import new_id
from tandem.incidents import (
    ACTION_STATUSES,
    ActionChanges,
    ActionPoint,
    ActionStatus,
    PostMortem,
    PostMortemChanges,
    TimelineEntry,
)
from tandem.store.triage_store import TriageStore

MAX_PREDICTIONS = 50
WHYS = 5


def snapshot(store: TriageStore, prediction: Prediction, at: datetime) -> dict[str, Any]:
    """Everything logged about one prediction, as plain JSON, frozen at `at`."""
    data = shallow_dict(prediction)
    data["created_at"] = prediction.created_at.isoformat()
    data["feedback"] = [
        {
            "kind": f.kind,
            "label": f.label,
            "comment": f.comment,
            "created_at": f.created_at.isoformat(),
        }
        for f in store.list_feedback(prediction.id)
    ]
    data["labels"] = [
        {"label": lab.label, "source": lab.source, "created_at": lab.created_at.isoformat()}
        for lab in store.list_labels(prediction.id)
    ]
    data["snapshot_at"] = at.isoformat()
    return data


def _facts(store: TriageStore, pm_id: str, p: Prediction, now: datetime) -> list[TimelineEntry]:
    """What the log says happened, in neutral words (no names: blameless)."""
    route = p.route + (f", {p.fallback_reason}" if p.fallback_reason else "")
    facts = [
        (
            p.created_at,
            f"Prediction {p.id} by {p.model} {p.model_version} answered {p.label!r} "
            f"with confidence {p.confidence:.3f} (route {route}, {p.latency_ms} ms).",
        )
    ]
    for f in store.list_feedback(p.id):
        said = f": {f.comment}" if f.comment else ""
        facts.append((f.created_at, f"Feedback {f.kind!r} on prediction {p.id}{said}"))
    for lab in store.list_labels(p.id):
        if lab.source == "review":
            facts.append((lab.created_at, f"A reviewer labelled prediction {p.id} {lab.label!r}."))
    return [TimelineEntry(new_id(), pm_id, at, text, None, now) for at, text in facts]


def _clean(text: str | None, field: str, limit: int, required: bool = False) -> str:
    value = (text or "").strip()
    if required and not value:
        raise InvalidInput(f"{field} must not be empty")
    if len(value) > limit:
        raise InvalidInput(f"{field} is longer than {limit} characters")
    return value


def check_whys(whys: list[dict[str, str]]) -> list[dict[str, str]]:
    """Up to five why/because pairs; empty pairs are dropped, so a form with five
    slots can be saved half-filled."""
    pairs = []
    for i, pair in enumerate(whys, 1):
        why = _clean(pair.get("why"), f"why #{i}", 2000)
        because = _clean(pair.get("because"), f"because #{i}", 2000)
        if why or because:
            pairs.append({"why": why, "because": because})
    if len(pairs) > WHYS:
        raise InvalidInput(f"a post-mortem has at most {WHYS} whys, got {len(pairs)}")
    return pairs


def open_postmortem(
    store: TriageStore,
    title: str,
    prediction_ids: list[str],
    author: str | None = None,
    summary: str | None = None,
) -> PostMortem:
    ids = list(dict.fromkeys(pid.strip() for pid in prediction_ids if pid.strip()))
    if not ids:
        raise InvalidInput("open a post-mortem from at least one prediction id")
    if len(ids) > MAX_PREDICTIONS:
        raise InvalidInput(f"link at most {MAX_PREDICTIONS} predictions, got {len(ids)}")
    found, missing = [], []
    for pid in ids:
        try:
            found.append(store.get_prediction(pid))
        except NotFound:
            missing.append(pid)
    if missing:
        raise InvalidInput(f"no prediction with id {', '.join(map(repr, missing))}")
    now = utcnow()
    pm_id = new_id()
    author = _clean(author, "author", 200) or None
    timeline = [entry for p in found for entry in _facts(store, pm_id, p, now)]
    timeline.append(TimelineEntry(new_id(), pm_id, now, "Post-mortem opened.", author, now))
    record = PostMortem(
        id=pm_id,
        title=_clean(title, "title", 200, required=True),
        created_at=now,
        updated_at=now,
        created_by=author,
        summary=_clean(summary, "summary", 20_000),
        whys=[],
        predictions=[snapshot(store, p, now) for p in found],
        timeline=sorted(timeline, key=lambda e: e.at),
    )
    store.add_postmortem(record)
    return record


def check_postmortem_changes(asked: PostMortemChanges) -> PostMortemChanges:
    """An edit as typed, checked as when opening: a title not blank, each field within
    its limit, at most five whys."""
    title, summary, whys = asked.title, asked.summary, asked.whys
    return PostMortemChanges(
        title=None if title is None else _clean(title, "title", 200, required=True),
        summary=None if summary is None else _clean(summary, "summary", 20_000),
        whys=None if whys is None else check_whys(whys),
    )


def add_entry(
    store: TriageStore, pm_id: str, text: str, at: datetime | None = None, author: str | None = None
) -> TimelineEntry:
    """A fact on the timeline; `at` is when it happened (default now), in UTC."""
    now = utcnow()
    if at is None:
        at = now
    # A time without a zone is read as UTC, the zone every stored time is in.
    at = as_utc(at)
    entry = TimelineEntry(
        new_id(),
        pm_id,
        at,
        _clean(text, "text", 5000, required=True),
        _clean(author, "author", 200) or None,
        now,
    )
    store.add_timeline_entry(entry)
    return entry


def add_action(store: TriageStore, pm_id: str, text: str, owner: str) -> ActionPoint:
    now = utcnow()
    action = ActionPoint(
        new_id(),
        pm_id,
        _clean(text, "text", 5000, required=True),
        _clean(owner, "owner", 200, required=True),
        "open",
        now,
        now,
    )
    store.add_action(action)
    return action


def check_action_status(status: str) -> ActionStatus:
    if status not in ACTION_STATUSES:
        raise InvalidInput(f"unknown action status {status!r}; use open or done")
    return status


def check_action_changes(asked: ActionChanges) -> ActionChanges:
    """An edit as typed, checked: status open or done, owner and text not blank."""
    status, owner, text = asked.status, asked.owner, asked.text
    return ActionChanges(
        status=None if status is None else check_action_status(status),
        owner=None if owner is None else _clean(owner, "owner", 200, required=True),
        text=None if text is None else _clean(text, "text", 5000, required=True),
    )
