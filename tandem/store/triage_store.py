"""Bug triage (feedback of kind `bug` with a status) and post-mortems, which
snapshot the predictions, feedback and labels they are about."""

from __future__ import annotations

from abc import abstractmethod
from datetime import datetime

from tandem.incidents import (
    ActionPoint,
    ActionStatus,
    BugReport,
    BugStatus,
    PostMortem,
    TimelineEntry,
)
from tandem.store.prediction_log import PredictionReads
from tandem.store.review_queue import LabelReads


class TriageStore(PredictionReads, LabelReads):
    # -- bug triage --------------------------------------------------------------
    @abstractmethod
    def list_bugs(
        self, status: BugStatus | None = None, limit: int = 100, offset: int = 0
    ) -> list[BugReport]:
        """Feedback of kind `bug`, newest first, with its triage status."""

    @abstractmethod
    def count_bugs(self, status: BugStatus | None = None) -> int: ...

    @abstractmethod
    def set_bug_status(
        self, feedback_id: str, status: BugStatus, actor: str | None, note: str | None, at: datetime
    ) -> BugReport:
        """Raise NotFound unless `feedback_id` is a bug report."""

    # -- post-mortems --------------------------------------------------------------
    @abstractmethod
    def add_postmortem(self, record: PostMortem) -> None:
        """Store a post-mortem with its prediction snapshots, timeline and actions."""

    @abstractmethod
    def get_postmortem(self, postmortem_id: str) -> PostMortem:
        """Raise NotFound when the id is unknown."""

    @abstractmethod
    def list_postmortems(
        self, prediction_id: str | None = None, limit: int = 100
    ) -> list[PostMortem]:
        """Newest first; only those linked to `prediction_id` when given."""

    @abstractmethod
    def update_postmortem(
        self,
        postmortem_id: str,
        at: datetime,
        title: str | None = None,
        summary: str | None = None,
        whys: list[dict[str, str]] | None = None,
    ) -> PostMortem: ...

    @abstractmethod
    def add_timeline_entry(self, entry: TimelineEntry) -> None: ...

    @abstractmethod
    def add_action(self, action: ActionPoint) -> None: ...

    @abstractmethod
    def update_action(
        self,
        postmortem_id: str,
        action_id: str,
        at: datetime,
        status: ActionStatus | None = None,
        owner: str | None = None,
        text: str | None = None,
    ) -> ActionPoint: ...
