"""Bug triage (feedback of kind `bug` with a status) and post-mortems, which
snapshot the predictions, feedback and labels they are about."""

from __future__ import annotations

from abc import abstractmethod
from datetime import datetime

from tandem import incidents
from tandem.store.prediction_log import PredictionReads
from tandem.store.review_queue import LabelReads


class TriageStore(PredictionReads, LabelReads):
    # -- bug triage --------------------------------------------------------------
    @abstractmethod
    def list_bugs(
        self, status: incidents.BugStatus | None = None, limit: int = 100, offset: int = 0
    ) -> list[incidents.BugReport]:
        """Feedback of kind `bug`, newest first, with its triage status."""

    @abstractmethod
    def count_bugs(self, status: incidents.BugStatus | None = None) -> int: ...

    @abstractmethod
    def set_bug_status(
        self,
        feedback_id: str,
        status: incidents.BugStatus,
        actor: str | None,
        note: str | None,
        at: datetime,
    ) -> incidents.BugReport:
        """Raise NotFound unless `feedback_id` is a bug report."""

    # -- post-mortems --------------------------------------------------------------
    @abstractmethod
    def add_postmortem(self, record: incidents.PostMortem) -> None:
        """Store a post-mortem with its prediction snapshots, timeline and actions."""

    @abstractmethod
    def get_postmortem(self, postmortem_id: str) -> incidents.PostMortem:
        """Raise NotFound when the id is unknown."""

    @abstractmethod
    def list_postmortems(
        self, prediction_id: str | None = None, limit: int = 100
    ) -> list[incidents.PostMortem]:
        """Newest first; only those linked to `prediction_id` when given."""

    @abstractmethod
    def update_postmortem(
        self, postmortem_id: str, at: datetime, changes: incidents.PostMortemChanges
    ) -> incidents.PostMortem:
        """Apply `changes` (updated_at = `at`); NotFound when the id is unknown."""

    @abstractmethod
    def add_timeline_entry(self, entry: incidents.TimelineEntry) -> None: ...

    @abstractmethod
    def add_action(self, action: incidents.ActionPoint) -> None: ...

    @abstractmethod
    def update_action(
        self, postmortem_id: str, action_id: str, at: datetime, changes: incidents.ActionChanges
    ) -> incidents.ActionPoint:
        """Apply `changes` (updated_at = `at`, also the post-mortem's); NotFound unless
        the post-mortem has that action."""
