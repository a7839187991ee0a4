"""Plain domain types for running the service: alerts, bug triage and post-mortems.

Kept apart from `tandem.domain` (the prediction loop) so either can grow alone; the
store maps rows to these at its edge, as it does for predictions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from tandem.domain import Feedback

AlertState = Literal["firing", "resolved"]
BugStatus = Literal["new", "triaged", "fixed", "wont-fix"]
ActionStatus = Literal["open", "done"]
BUG_STATUSES: tuple[BugStatus, ...] = ("new", "triaged", "fixed", "wont-fix")
ACTION_STATUSES: tuple[ActionStatus, ...] = ("open", "done")


@dataclass(frozen=True, slots=True)
class Alert:
    """One firing period of a rule: opened with its evidence, closed with the
    evidence that it is over. `evidence` holds value, threshold, window and details."""

    id: str
    rule: str
    signal: str
    state: AlertState
    opened_at: datetime
    value: float | None
    evidence: dict[str, Any]
    resolved_at: datetime | None = None
    resolution: dict[str, Any] | None = None
    fired_delivery: str | None = None
    resolved_delivery: str | None = None


@dataclass(frozen=True, slots=True)
class RuleCheck:
    """A rule's latest evaluation (one row per rule, replaced each time).

    `failing_since` is when the condition started to fail without a pass since:
    a rule with a `for` duration fires only once that is long enough ago."""

    rule: str
    signal: str
    checked_at: datetime
    value: float | None
    ok: bool
    failing_since: datetime | None
    evidence: dict[str, Any]
    error: str | None = None


@dataclass(frozen=True, slots=True)
class BugReport:
    """A piece of `bug` feedback, where it stands in triage, and what it is about."""

    feedback: Feedback
    status: BugStatus
    model: str
    model_version: str
    label: str
    """What the bug is about: the model, version and label of the prediction the
    feedback was given on."""
    note: str | None = None
    updated_by: str | None = None
    updated_at: datetime | None = None
    """The latest status change: its note, who made it (their key's name) and when;
    None while the report is new."""


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    id: str
    postmortem_id: str
    at: datetime
    text: str
    author: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ActionPoint:
    id: str
    postmortem_id: str
    text: str
    owner: str
    status: ActionStatus
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ActionChanges:
    """An edit of an action point: each field given replaces the stored one, None
    leaves it as it is."""

    status: ActionStatus | None = None
    owner: str | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class PostMortem:
    """A blameless account of what went wrong with some predictions.

    `predictions` are snapshots taken when the record was opened, so later changes to
    the logged data (or a purge) do not rewrite history; `whys` holds up to five
    {"why", "because"} pairs."""

    id: str
    title: str
    created_at: datetime
    updated_at: datetime
    created_by: str | None
    summary: str
    whys: list[dict[str, str]]
    predictions: list[dict[str, Any]] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)
    actions: list[ActionPoint] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PostMortemChanges:
    """An edit of a post-mortem: each field given replaces the stored one (the whys
    whole), None leaves it as it is."""

    title: str | None = None
    summary: str | None = None
    whys: list[dict[str, str]] | None = None
