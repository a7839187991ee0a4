"""HTML pages. Plain forms that POST and redirect: they work without JavaScript,
and a decision made here goes through the same service as the JSON API."""

from __future__ import annotations

from contextlib import suppress
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tandem.domain import Prediction, ReviewItem
from tandem.errors import InvalidInput, TandemError
from tandem.review import claims
from tandem.review import service as review_service
from tandem.review.claims import MAX_BATCH
from tandem.serving.identity import current_reviewer
from tandem.serving.state import Services, services
from tandem.ui.models_pages import router as models_router
from tandem.ui.templating import templates

router = APIRouter(include_in_schema=False)
Svc = Annotated[Services, Depends(services)]
REVIEWER_COOKIE = "tandem_reviewer"


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
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
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    decided: str | None = None,
) -> Response:
    """A known reviewer (the cookie from their last decision) gets their own batch,
    claimed on page load; anyone else sees the items nobody holds."""
    limit = 20
    reviewer = request.cookies.get(REVIEWER_COOKIE, "").strip()
    expires_at = None
    if reviewer:
        expires_at, rows = claims.claim(svc.store, reviewer, PAGE_BATCH, svc.settings.claim_ttl_s)
    else:
        rows = claims.free_items(svc.store, limit, offset)
    return templates.TemplateResponse(
        request,
        "review.html",
        {
            "rows": rows,
            "pending": svc.store.count_reviews("pending"),
            "decided_total": svc.store.count_reviews("decided"),
            "offset": offset,
            "limit": limit,
            "decided": decided,
            "reviewer": reviewer,
            "expires_at": expires_at,
            "top_k": 3,
            "views": _input_views(svc, rows),
        },
    )


def _message(request: Request, exc: TandemError) -> Response:
    return templates.TemplateResponse(
        request,
        "message.html",
        {"title": "Decision not saved", "message": exc.message, "back": "/review"},
        status_code=exc.status,
    )


@router.post("/review/start", response_class=HTMLResponse)
def start_reviewing(
    request: Request, reviewer: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    """Remember who is reviewing; the queue page then claims their batch."""
    try:
        name = current_reviewer(request, reviewer)
    except TandemError as exc:
        return _message(request, exc)
    response = RedirectResponse("/review", status_code=303)
    response.set_cookie(REVIEWER_COOKIE, name, samesite="strict", httponly=True)
    return response


@router.post("/review/stop", response_class=HTMLResponse)
def stop_reviewing(
    request: Request, svc: Svc, item: Annotated[list[str] | None, Form()] = None
) -> Response:
    """Hand the batch back so others can take it now, not when the claims expire."""
    reviewer = request.cookies.get(REVIEWER_COOKIE, "").strip()
    for review_id in (item or [])[:MAX_BATCH] if reviewer else []:
        # Decided or taken over meanwhile: nothing of ours left to release.
        with suppress(TandemError):
            claims.release(svc.store, review_id, reviewer)
    response = RedirectResponse("/review", status_code=303)
    response.delete_cookie(REVIEWER_COOKIE, samesite="strict", httponly=True)
    return response


@router.post("/review/{review_id}", response_class=HTMLResponse)
def decide_from_page(
    request: Request,
    review_id: str,
    svc: Svc,
    label: Annotated[str, Form(max_length=100)] = "",
    reviewer: Annotated[str, Form(max_length=200)] = "",
    comment: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    try:
        if not reviewer.strip():
            raise InvalidInput("enter your name as reviewer before deciding")
        name = current_reviewer(request, reviewer)
        review_service.decide(svc.store, review_id, label, name, comment.strip() or None)
    except TandemError as exc:
        return _message(request, exc)
    response = RedirectResponse(f"/review?decided={review_id}", status_code=303)
    response.set_cookie(REVIEWER_COOKIE, name, samesite="strict", httponly=True)
    return response


@router.get("/about", response_class=HTMLResponse)
def about(request: Request, svc: Svc) -> Response:
    models = {name: p.version for name, p in svc.predictions.predictors.items()}
    return templates.TemplateResponse(request, "about.html", {"models": models})


def mount(app: FastAPI) -> None:
    app.include_router(router)
    app.include_router(models_router)
