"""Bug reports (feedback of kind `bug`) and their triage status."""

from __future__ import annotations

from tandem.clock import utcnow
from tandem.errors import InvalidInput
from tandem.incidents import BUG_STATUSES, BugReport, BugStatus
from tandem.store.triage_store import TriageStore


def check_status(status: str) -> BugStatus:
    if status not in BUG_STATUSES:
        raise InvalidInput(f"unknown bug status {status!r}; use one of {', '.join(BUG_STATUSES)}")
    return status


def set_status(
    store: TriageStore, feedback_id: str, status: str, actor: str | None, note: str | None
) -> BugReport:
    """Move a bug report through new -> triaged -> fixed / wont-fix (any order: people
    reopen things); who did it and why are kept beside it."""
    return store.set_bug_status(
        feedback_id,
        check_status(status),
        (actor or "").strip() or None,
        (note or "").strip() or None,
        utcnow(),
    )
