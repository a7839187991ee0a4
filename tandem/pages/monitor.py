"""Monitoring pages: drift (training vs live histograms, drifted features first) and
quality over time (model vs rule baseline vs people), from the same services as the API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from tandem.clock import parse_when
from tandem.pages.templating import templates
from tandem.report import charts
from tandem.web.state import Svc

router = APIRouter(include_in_schema=False)
PLOTTED = 12
"""Histograms drawn by default (drifted features first): an image model has 64 pixels,
and each plot costs ~30 ms to draw; `?all=1` draws every one."""


class Asked(BaseModel):
    """What a monitoring page's form asks: a model (none: the list of models to pick
    from) and a window, as typed (ISO 8601; blank: the default)."""

    model: str | None = None
    since: str | None = None
    until: str | None = None

    def window(self) -> tuple[datetime | None, datetime | None]:
        """[since, until) parsed; a typo is an error page that says what to type."""
        return parse_when(self.since, "since"), parse_when(self.until, "until")

    def typed(self) -> dict[str, str]:
        """The window as typed, to show in the form again."""
        return {"since": self.since or "", "until": self.until or ""}


class DriftAsked(Asked):
    version: str | None = None
    all: bool = False
    """Draw every histogram, not only the first PLOTTED."""


class QualityAsked(Asked):
    by: str = "day"


def _pick_a_model(request: Request, svc: Svc, page: str) -> Response:
    return templates.TemplateResponse(
        request, "monitor_index.html", {"models": svc.health.models(), "page": page}
    )


@router.get("/monitor/drift", response_class=HTMLResponse)
def drift_page(request: Request, svc: Svc, asked: Annotated[DriftAsked, Query()]) -> Response:
    if not asked.model:
        return _pick_a_model(request, svc, "drift")
    result = svc.health.drift(asked.model, *asked.window(), asked.version or None)
    ranked = result.ranked()
    shown = ranked if asked.all else ranked[:PLOTTED]
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
            **asked.typed(),
        },
    )


@router.get("/monitor/quality", response_class=HTMLResponse)
def quality_page(request: Request, svc: Svc, asked: Annotated[QualityAsked, Query()]) -> Response:
    if not asked.model:
        return _pick_a_model(request, svc, "quality")
    start, end = asked.window()
    report = svc.health.quality(asked.model, asked.by, start, end)
    return templates.TemplateResponse(
        request,
        "quality.html",
        {
            "q": report,
            "reviewers": svc.health.reviewers(asked.model, start, end),
            "plot": charts.quality_svg(report) if report.periods else None,
            **asked.typed(),
        },
    )
