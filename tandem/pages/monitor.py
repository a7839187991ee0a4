"""Monitoring pages: drift (training vs live histograms, drifted features first) and
quality over time (model vs rule baseline vs people), from the same services as the API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from tandem.clock import parse_when
from tandem.pages.templating import templates
from tandem.report import charts
from tandem.web.state import Svc

router = APIRouter(include_in_schema=False)
PLOTTED = 12
"""Histograms drawn by default (drifted features first): an image model has 64 pixels,
and each plot costs ~30 ms to draw; `?all=1` draws every one."""


@router.get("/monitor/drift", response_class=HTMLResponse)
def drift_page(
    request: Request,
    svc: Svc,
    model: str | None = None,
    since: str | None = None,
    until: str | None = None,
    version: str | None = None,
    all: Annotated[bool, Query()] = False,  # noqa: A002 - the query parameter's name
) -> Response:
    if not model:
        return templates.TemplateResponse(
            request, "monitor_index.html", {"models": svc.health.models(), "page": "drift"}
        )
    result = svc.health.drift(
        model, parse_when(since, "since"), parse_when(until, "until"), version or None
    )
    ranked = result.ranked()
    shown = ranked if all else ranked[:PLOTTED]
    outputs = [f for f in (result.predictions, result.confidence) if f is not None]
    return templates.TemplateResponse(
        request,
        "drift.html",
        {
            "d": result,
            "ranked": ranked,
            "plots": {f.name: charts.histogram_svg(f) for f in [*outputs, *shown]},
            "outputs": outputs,
            "hidden": len(ranked) - len(shown),
            "since": since or "",
            "until": until or "",
        },
    )


@router.get("/monitor/quality", response_class=HTMLResponse)
def quality_page(
    request: Request,
    svc: Svc,
    model: str | None = None,
    by: str = "day",
    since: str | None = None,
    until: str | None = None,
) -> Response:
    if not model:
        return templates.TemplateResponse(
            request, "monitor_index.html", {"models": svc.health.models(), "page": "quality"}
        )
    start, end = parse_when(since, "since"), parse_when(until, "until")
    report = svc.health.quality(model, by, start, end)
    return templates.TemplateResponse(
        request,
        "quality.html",
        {
            "q": report,
            "reviewers": svc.health.reviewers(model, start, end),
            "plot": charts.quality_svg(report) if report.periods else None,
            "since": since or "",
            "until": until or "",
        },
    )
