"""Pages for bug triage and post-mortems: plain forms that POST and redirect back,
going through the same services as the JSON API."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tandem.errors import InvalidInput
from tandem.incidents import BUG_STATUSES, ActionChanges, PostMortemChanges
from tandem.pages.templating import templates
from tandem.triage.bugs import check_status
from tandem.triage.postmortems import WHYS, check_action_status
from tandem.web.access import PAGE_ADMIN, PAGE_REVIEWER, PageAdmin
from tandem.web.state import FormFields, Svc

router = APIRouter(include_in_schema=False)
pm_router = APIRouter(include_in_schema=False, dependencies=[PAGE_ADMIN])
"""Post-mortems are admins' work; the bug list is open to reviewers."""
Short = Annotated[str, Form(max_length=200)]
Text = Annotated[str, Form(max_length=20_000)]


def _back(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


@router.get("/bugs", response_class=HTMLResponse, dependencies=[PAGE_REVIEWER])
def bugs_page(request: Request, svc: Svc, status: str | None = None) -> Response:
    chosen = check_status(status) if status else None
    return templates.TemplateResponse(
        request,
        "bugs.html",
        {
            "bugs": svc.triage.bugs(chosen, limit=200),
            "counts": {s: svc.triage.bug_count(s) for s in BUG_STATUSES},
            "status": chosen,
            "statuses": BUG_STATUSES,
        },
    )


@router.post("/bugs/{feedback_id}/status", response_class=HTMLResponse)
def bug_status_page(
    feedback_id: str, svc: Svc, who: PageAdmin, status: Short = "", note: Text = ""
) -> Response:
    svc.triage.set_bug_status(feedback_id, status, who.name, note)
    return _back(f"/bugs#bug-{feedback_id}")


@pm_router.get("/postmortems", response_class=HTMLResponse)
def postmortems_page(request: Request, svc: Svc) -> Response:
    return templates.TemplateResponse(
        request, "postmortems.html", {"postmortems": svc.triage.postmortems()}
    )


@pm_router.post("/postmortems", response_class=HTMLResponse)
def open_from_page(svc: Svc, who: PageAdmin, form: FormFields) -> Response:
    """From the bug list (checked boxes), a prediction's page, or pasted ids."""
    ids = [str(v) for v in form.getlist("prediction_ids")]
    ids += re.split(r"[\s,]+", str(form.get("pasted_ids", "")))
    record = svc.triage.open_postmortem(
        str(form.get("title", ""))[:1000],
        [i for i in ids if i][:100],
        who.name,
        str(form.get("summary", ""))[:40_000],
    )
    return _back(f"/postmortems/{record.id}")


@pm_router.get("/postmortems/{postmortem_id}", response_class=HTMLResponse)
def postmortem_page(request: Request, postmortem_id: str, svc: Svc) -> Response:
    record = svc.triage.postmortem(postmortem_id)
    whys = record.whys + [{"why": "", "because": ""}] * (WHYS - len(record.whys))
    return templates.TemplateResponse(
        request, "postmortem.html", {"pm": record, "whys": whys[:WHYS]}
    )


@pm_router.post("/postmortems/{postmortem_id}", response_class=HTMLResponse)
def edit_page(postmortem_id: str, svc: Svc, title: Short = "", summary: Text = "") -> Response:
    here = f"/postmortems/{postmortem_id}"
    svc.triage.edit(postmortem_id, PostMortemChanges(title=title, summary=summary))
    return _back(here)


@pm_router.post("/postmortems/{postmortem_id}/whys", response_class=HTMLResponse)
def whys_page(postmortem_id: str, svc: Svc, form: FormFields) -> Response:
    here = f"/postmortems/{postmortem_id}"
    pairs = [
        {key: str(form.get(f"{key}_{i}", ""))[:4000] for key in ("why", "because")}
        for i in range(1, WHYS + 1)
    ]
    svc.triage.edit(postmortem_id, PostMortemChanges(whys=pairs))
    return _back(f"{here}#whys")


@pm_router.post("/postmortems/{postmortem_id}/timeline", response_class=HTMLResponse)
def timeline_page(
    postmortem_id: str, svc: Svc, who: PageAdmin, text: Text = "", at: Short = ""
) -> Response:
    here = f"/postmortems/{postmortem_id}"
    when = None
    if at.strip():
        try:
            when = datetime.fromisoformat(at.strip())
        except ValueError:
            raise InvalidInput(f"'{at}' is not a time; use YYYY-MM-DD HH:MM (UTC)") from None
    svc.triage.add_entry(postmortem_id, text, when, who.name)
    return _back(f"{here}#timeline")


@pm_router.post("/postmortems/{postmortem_id}/actions", response_class=HTMLResponse)
def action_page(postmortem_id: str, svc: Svc, text: Text = "", owner: Short = "") -> Response:
    here = f"/postmortems/{postmortem_id}"
    svc.triage.add_action(postmortem_id, text, owner)
    return _back(f"{here}#actions")


@pm_router.post("/postmortems/{postmortem_id}/actions/{action_id}", response_class=HTMLResponse)
def action_status_page(
    postmortem_id: str, action_id: str, svc: Svc, status: Short = ""
) -> Response:
    here = f"/postmortems/{postmortem_id}"
    asked = ActionChanges(status=check_action_status(status))
    svc.triage.update_action(postmortem_id, action_id, asked)
    return _back(f"{here}#actions")
