"""HTML pages. Plain forms that POST and redirect: they work without JavaScript,
and a decision made here goes through the same service as the JSON API."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import Annotated
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from tandem.auth.roles import Principal
from tandem.domain import REVIEW_SORTS, Prediction, ReviewItem
from tandem.errors import TandemError
from tandem.models.interface import InputView
from tandem.pages import editor, login, scripts
from tandem.pages.alerts import router as alerts_router
from tandem.pages.inputs import guidelines_of, view_of
from tandem.pages.models import router as models_router
from tandem.pages.report import router as report_router
from tandem.pages.templating import model_setup, templates
from tandem.pages.triage import pm_router
from tandem.pages.triage import router as triage_router
from tandem.review.claims import MAX_BATCH, ClaimAsk
from tandem.review.queue import QueueAsk
from tandem.web.access import PAGE_ADMIN, PAGE_REVIEWER, PUBLIC, PageReviewer
from tandem.web.state import Services, Svc, served_labels

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


def _input_views(svc: Services, rows: list[tuple[ReviewItem, Prediction]]) -> dict[str, InputView]:
    """How each item's input is drawn (see tandem.pages.inputs.view_of), by prediction id."""
    return {p.id: view_of(svc, p) for _item, p in rows}


@router.get("/review", response_class=HTMLResponse)
def review_queue(
    request: Request,
    svc: Svc,
    who: PageReviewer,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    decided: str | None = None,
    stopped: bool = False,
    model: Annotated[str | None, Query(max_length=100)] = None,
    reason: Annotated[str | None, Query(max_length=32)] = None,
    label: Annotated[str | None, Query(max_length=100)] = None,
    sort: Annotated[str, Query(max_length=32)] = "oldest",
) -> Response:
    """The logged-in reviewer gets their own batch, claimed on page load: items other
    reviewers hold are not shown, so two people never work on the same item. The
    filters (`model`, `reason`, predicted `label`) and `sort` aim the batch as they
    aim GET /v1/reviews; an unknown value is a 422 naming the valid ones. `offset` is
    accepted for old links: the page shows a claimed batch, not a slice."""
    asked = QueueAsk(model=model, reason=reason, label=label, sort=sort)
    aim = svc.reviews.aim(served_labels(svc), asked)
    expires_at, rows = None, list[tuple[ReviewItem, Prediction]]()
    if not stopped:
        expires_at, rows = svc.reviews.claim(ClaimAsk(who.name, PAGE_BATCH, aim, who.role.value))
    counts = svc.reviews.counts(aim)
    filters = {"model": aim.where.model, "reason": aim.where.reason, "label": aim.where.label}
    return templates.TemplateResponse(
        request,
        "review.html",
        {
            "rows": rows,
            "pending": svc.reviews.count("pending"),
            "decided_total": svc.reviews.count("decided"),
            "matching": counts.total,
            "counts": counts.by_filter,
            "filters": filters,
            "sort": aim.sort,
            "sorts": REVIEW_SORTS,
            "here": _query({**filters, "sort": aim.sort if aim.sort != "oldest" else None}),
            "link": _link(filters, aim.sort),
            "offset": offset,
            "limit": PAGE_BATCH,
            "decided": decided,
            "reviewer": who.name,
            "expires_at": expires_at,
            "stopped": stopped,
            "top_k": 3,
            "views": _input_views(svc, rows),
            "answers": {item.id: svc.reviews.answers(item) for item, _p in rows},
            "guidelines": guidelines_of(svc, (p.model for _item, p in rows)),
        },
    )


def _query(params: dict[str, str | None]) -> str:
    """`?a=1&b=2` of the params that are set, or ""."""
    kept = {k: v for k, v in params.items() if v}
    return f"?{urlencode(kept)}" if kept else ""


def _link(filters: dict[str, str | None], sort: str) -> Callable[..., str]:
    """A /review URL with one filter or the sort changed (None clears a filter)."""

    def link(**change: str | None) -> str:
        params: dict[str, str | None] = {**filters, "sort": sort if sort != "oldest" else None}
        params.update(change)
        if "model" in change and change["model"] != filters["model"]:
            params["label"] = None  # labels belong to a model
        return "/review" + _query(params)

    return link


@router.post("/review/stop", response_class=HTMLResponse)
def stop_reviewing(
    request: Request,
    svc: Svc,
    who: PageReviewer,
    item: Annotated[list[str] | None, Form()] = None,
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Hand the batch back so others can take it now, not when the claims expire."""
    for review_id in (item or [])[:MAX_BATCH]:
        # Decided or taken over meanwhile: nothing of ours left to release.
        with suppress(TandemError):
            svc.reviews.release(review_id, who.name)
    return RedirectResponse(_back("/review?stopped=1", back), status_code=303)


class Decision(BaseModel):
    """A decision as the review pages post it."""

    label: str = Field(default="", max_length=100)
    comment: str = Field(default="", max_length=5000)

    def record(self, svc: Services, who: Principal, review_id: str) -> None:
        """The reviewer recorded is the logged-in key's name, never a form field."""
        comment = self.comment.strip() or None
        svc.reviews.decide(review_id, self.label, who.name, comment, who.role.value)


@router.post("/review/{review_id}", response_class=HTMLResponse)
def decide_from_page(
    review_id: str,
    svc: Svc,
    who: PageReviewer,
    decision: Annotated[Decision, Form()],
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    decision.record(svc, who, review_id)
    return RedirectResponse(_back(f"/review?decided={review_id}", back), status_code=303)


def _back(url: str, filters: str) -> str:
    """`url` keeping the page's filters (`filters` is the page's own query string; only
    its known filter parameters are carried, so it cannot send the reviewer elsewhere)."""
    kept = {k: v for k, v in parse_qsl(filters.lstrip("?")) if k in _FILTERS and v}
    return f"{url}&{urlencode(kept)}" if kept else url


_FILTERS = frozenset({"model", "reason", "label", "sort"})


@router.get("/about", response_class=HTMLResponse, dependencies=[PUBLIC])
def about(request: Request, svc: Svc) -> Response:
    models = {name: p.version for name, p in svc.predictions.predictors.items()}
    attributions = {n: f.attribution for n, f in sorted(svc.families.items()) if f.attribution}
    return templates.TemplateResponse(
        request, "about.html", {"models": models, "attributions": attributions}
    )


def mount(app: FastAPI) -> None:
    login.install(app)
    editor.install(app)
    scripts.install(app)
    app.include_router(router)
    app.include_router(models_router)
    app.include_router(report_router, dependencies=[PAGE_REVIEWER])
    app.include_router(alerts_router, dependencies=[PAGE_ADMIN])
    app.include_router(triage_router)
    app.include_router(pm_router)
