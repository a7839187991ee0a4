"""Bug triage and post-mortems over JSON. Changing a bug's status sits in its own
router so it can be kept to admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from tandem.api.errors import responses
from tandem.api.schemas_triage import (
    ActionEdit,
    ActionOut,
    ActionRequest,
    BugOut,
    BugPage,
    BugStatusIn,
    BugStatusRequest,
    PostMortemEdit,
    PostMortemList,
    PostMortemOut,
    PostMortemRequest,
    TimelineOut,
    TimelineRequest,
)
from tandem.incidents import ActionChanges, PostMortemChanges
from tandem.web.access import Admin
from tandem.web.state import Svc

_errors = responses(404, 409, 422)
bugs_router = APIRouter(prefix="/v1/bugs", tags=["bugs"], responses=_errors)
bugs_admin_router = APIRouter(prefix="/v1/bugs", tags=["bugs"], responses=_errors)
postmortems_router = APIRouter(prefix="/v1/postmortems", tags=["postmortems"], responses=_errors)


@bugs_router.get("", response_model=BugPage)
def list_bugs(
    svc: Svc,
    status: BugStatusIn | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> BugPage:
    """Bug reports (feedback of kind `bug`), newest first."""
    return BugPage(
        bugs=[BugOut.of(b) for b in svc.triage.bugs(status, limit, offset)],
        total=svc.triage.bug_count(status),
    )


@bugs_admin_router.patch("/{feedback_id}", response_model=BugOut)
def set_bug_status(feedback_id: str, body: BugStatusRequest, svc: Svc, who: Admin) -> BugOut:
    """Move a bug report to new, triaged, fixed or wont-fix."""
    bug = svc.triage.set_bug_status(feedback_id, body.status, who.name, body.note)
    return BugOut.of(bug)


@postmortems_router.post("", response_model=PostMortemOut, status_code=201)
def open_postmortem(body: PostMortemRequest, svc: Svc, who: Admin) -> PostMortemOut:
    """Open a post-mortem from predictions; their logged data is snapshotted into it."""
    record = svc.triage.open_postmortem(body.title, body.prediction_ids, who.name, body.summary)
    return PostMortemOut.of(record)


@postmortems_router.get("", response_model=PostMortemList)
def list_postmortems(
    svc: Svc,
    prediction_id: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> PostMortemList:
    """Newest first; only those linked to `prediction_id` when given."""
    found = svc.triage.postmortems(prediction_id, limit)
    return PostMortemList(postmortems=[PostMortemOut.of(pm) for pm in found])


@postmortems_router.get("/{postmortem_id}", response_model=PostMortemOut)
def get_postmortem(postmortem_id: str, svc: Svc) -> PostMortemOut:
    return PostMortemOut.of(svc.triage.postmortem(postmortem_id))


@postmortems_router.patch("/{postmortem_id}", response_model=PostMortemOut)
def edit_postmortem(postmortem_id: str, body: PostMortemEdit, svc: Svc) -> PostMortemOut:
    """Change the title, the summary or the five whys (the whys are replaced whole)."""
    whys = None if body.whys is None else [w.model_dump() for w in body.whys]
    asked = PostMortemChanges(body.title, body.summary, whys)
    return PostMortemOut.of(svc.triage.edit(postmortem_id, asked))


@postmortems_router.post("/{postmortem_id}/timeline", response_model=TimelineOut, status_code=201)
def add_timeline_entry(
    postmortem_id: str, body: TimelineRequest, svc: Svc, who: Admin
) -> TimelineOut:
    """Add a fact to the timeline: what happened and when (no blame, just facts)."""
    return TimelineOut.of(svc.triage.add_entry(postmortem_id, body.text, body.at, who.name))


@postmortems_router.post("/{postmortem_id}/actions", response_model=ActionOut, status_code=201)
def add_action(postmortem_id: str, body: ActionRequest, svc: Svc) -> ActionOut:
    return ActionOut.of(svc.triage.add_action(postmortem_id, body.text, body.owner))


@postmortems_router.patch("/{postmortem_id}/actions/{action_id}", response_model=ActionOut)
def edit_action(postmortem_id: str, action_id: str, body: ActionEdit, svc: Svc) -> ActionOut:
    """Mark an action done (or open again), or change its owner or text."""
    asked = ActionChanges(**body.model_dump())
    action = svc.triage.update_action(postmortem_id, action_id, asked)
    return ActionOut.of(action)
