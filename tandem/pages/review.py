"""HTML pages. Plain forms that POST and redirect: they work without JavaScript,
and a decision made here goes through the same service as the JSON API."""

from __future__ import annotations

from contextlib import suppress
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tandem.domain import Prediction, ReviewItem
from tandem.errors import TandemError
from tandem.pages import login
from tandem.pages.alerts import router as alerts_router
from tandem.pages.models import router as models_router
from tandem.pages.report import router as report_router
from tandem.pages.templating import model_setup, templates
from tandem.pages.triage import pm_router
from tandem.pages.triage import router as triage_router
from tandem.review.claims import MAX_BATCH
from tandem.web.access import PAGE_ADMIN, PAGE_REVIEWER, PUBLIC, PageReviewer
from tandem.web.state import Services, Svc

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse, dependencies=[PUBLIC])
def home(request: Request) -> Response:
    """The review queue; while no model is served, how to add one."""
    commands = model_setup(request)
    if commands:
        return templates.TemplateResponse(request, "welcome.html", {"commands": commands})
    return RedirectResponse("/review", status_code=307)


PAGE_BATCH = 5
"""Items a reviewer holds on the page: a screenful, few enough that leaving the page
blocks little until the claims expire."""


def _input_views(svc: Services, rows: list[tuple[ReviewItem, Prediction]]) -> dict[str, Any]:
    views = {}
    for _item, p in rows:
        try:
            views[p.id] = svc.models.get(p.model, p.model_version).input_view
        except TandemError:
            views[p.id] = None  # a version no longer loadable still shows as text
    return views


@router.get("/review", response_class=HTMLResponse)
def review_queue(
    request: Request,
    svc: Svc,
    who: PageReviewer,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    decided: str | None = None,
    stopped: bool = False,
) -> Response:
    """The logged-in reviewer gets their own batch, claimed on page load: items other
    reviewers hold are not shown, so two people never work on the same item."""
    expires_at, rows = None, list[tuple[ReviewItem, Prediction]]()
    if not stopped:
        expires_at, rows = svc.reviews.claim(who.name, PAGE_BATCH)
    return templates.TemplateResponse(
        request,
        "review.html",
        {
            "rows": rows,
            "pending": svc.reviews.count("pending"),
            "decided_total": svc.reviews.count("decided"),
            "offset": offset,
            "limit": PAGE_BATCH,
            "decided": decided,
            "reviewer": who.name,
            "expires_at": expires_at,
            "stopped": stopped,
            "top_k": 3,
            "views": _input_views(svc, rows),
        },
    )


@router.post("/review/stop", response_class=HTMLResponse)
def stop_reviewing(
    request: Request,
    svc: Svc,
    who: PageReviewer,
    item: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Hand the batch back so others can take it now, not when the claims expire."""
    for review_id in (item or [])[:MAX_BATCH]:
        # Decided or taken over meanwhile: nothing of ours left to release.
        with suppress(TandemError):
            svc.reviews.release(review_id, who.name)
    return RedirectResponse("/review?stopped=1", status_code=303)


@router.post("/review/{review_id}", response_class=HTMLResponse)
def decide_from_page(
    request: Request,
    review_id: str,
    svc: Svc,
    who: PageReviewer,
    label: Annotated[str, Form(max_length=100)] = "",
    comment: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """The reviewer recorded is the logged-in key's name, never a form field."""
    svc.reviews.decide(review_id, label, who.name, comment.strip() or None, who.role.value)
    return RedirectResponse(f"/review?decided={review_id}", status_code=303)


@router.get("/about", response_class=HTMLResponse, dependencies=[PUBLIC])
def about(request: Request, svc: Svc) -> Response:
    models = {name: p.version for name, p in svc.predictions.predictors.items()}
    attributions = {n: f.attribution for n, f in sorted(svc.families.items()) if f.attribution}
    return templates.TemplateResponse(
        request, "about.html", {"models": models, "attributions": attributions}
    )


def mount(app: FastAPI) -> None:
    login.install(app)
    app.include_router(router)
    app.include_router(models_router)
    app.include_router(report_router, dependencies=[PAGE_REVIEWER])
    app.include_router(alerts_router, dependencies=[PAGE_ADMIN])
    app.include_router(triage_router)
    app.include_router(pm_router)
