"""Bug triage and post-mortems as the API and the pages use them, over the triage
store: one object the app factory builds, so a route asks it and never the store."""

from __future__ import annotations

from datetime import datetime

from tandem import incidents
from tandem.clock import utcnow
from tandem.store.triage_store import TriageStore
from tandem.triage import bugs
from tandem.triage import postmortems as pms


class Triage:
    def __init__(self, store: TriageStore) -> None:
        self._store = store

    # -- bugs ----------------------------------------------------------------
    def bugs(
        self, status: incidents.BugStatus | None = None, limit: int = 100, offset: int = 0
    ) -> list[incidents.BugReport]:
        """Bug reports, newest first."""
        return self._store.list_bugs(status, limit, offset)

    def bug_count(self, status: incidents.BugStatus | None = None) -> int:
        return self._store.count_bugs(status)

    def set_bug_status(
        self, feedback_id: str, status: str, actor: str | None, note: str | None
    ) -> incidents.BugReport:
        return bugs.set_status(self._store, feedback_id, status, actor, note)

    # -- post-mortems --------------------------------------------------------
    def open_postmortem(
        self,
        title: str,
        prediction_ids: list[str],
        author: str | None = None,
        summary: str | None = None,
    ) -> incidents.PostMortem:
        """The post-mortem as stored (its snapshots and timeline read back)."""
        record = pms.open_postmortem(self._store, title, prediction_ids, author, summary)
        return self._store.get_postmortem(record.id)

    def postmortem(self, postmortem_id: str) -> incidents.PostMortem:
        """NotFound for an unknown id."""
        return self._store.get_postmortem(postmortem_id)

    def postmortems(
        self, prediction_id: str | None = None, limit: int = 100
    ) -> list[incidents.PostMortem]:
        """Newest first; only those linked to `prediction_id` when given."""
        return self._store.list_postmortems(prediction_id, limit)

    def edit(self, postmortem_id: str, asked: incidents.PostMortemChanges) -> incidents.PostMortem:
        """Set the fields given (the whys replaced whole), each checked."""
        changes = pms.check_postmortem_changes(asked)
        return self._store.update_postmortem(postmortem_id, utcnow(), changes)

    def add_entry(
        self, postmortem_id: str, text: str, at: datetime | None, author: str | None
    ) -> incidents.TimelineEntry:
        return pms.add_entry(self._store, postmortem_id, text, at, author)

    def add_action(self, postmortem_id: str, text: str, owner: str) -> incidents.ActionPoint:
        return pms.add_action(self._store, postmortem_id, text, owner)

    def update_action(
        self, postmortem_id: str, action_id: str, asked: incidents.ActionChanges
    ) -> incidents.ActionPoint:
        """Set the fields given, each checked; the post-mortem counts as updated too."""
        changes = pms.check_action_changes(asked)
        return self._store.update_action(postmortem_id, action_id, utcnow(), changes)
