"""The stakeholder report page and its HTML/PDF downloads (admin and stakeholders
read it; nothing here writes)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from tandem.clock import utcnow
from tandem.pages.templating import templates
from tandem.report import charts
from tandem.report.format import ms, pct, signed
from tandem.report.pdf import render_pdf
from tandem.report.summary import Report
from tandem.web.state import Svc

router = APIRouter(include_in_schema=False)
# The report's number formats and route names, for report.html (page, file and PDF).
templates.env.globals.update(pct=pct, ms=ms, signed=signed, route_names=charts.ROUTE_NAMES)


def render_html(
    report: Report, export: bool, query: str = "", request: Request | None = None
) -> str:
    """The report page; with `export`, a self-contained file (CSS and SVG inline)."""
    svgs: dict[str, object] = {}
    if report.volume.total:
        svgs["volume"] = charts.to_svg(
            charts.volume_chart(report.volume.days, report.volume.per_day)
        )
        svgs["latency"] = charts.to_svg(
            charts.latency_chart(
                report.speed.days, report.speed.p50_per_day, report.speed.p95_per_day
            )
        )
    svgs["quality"] = {
        q.model: charts.to_svg(
            charts.quality_chart(
                q.model, q.weeks, q.weekly_model, q.weekly_baseline, q.weekly_agreement
            )
        )
        for q in report.quality
        if q.items
    }
    template = templates.env.get_template("report.html")
    context = {"request": request} if request is not None else {}
    return template.render(
        **context,
        report=report,
        charts=svgs,
        export=export,
        export_html=f"/report/export.html?{query}",
        export_pdf=f"/report/export.pdf?{query}",
    )


Since = Annotated[str | None, Query(max_length=40)]
Model = Annotated[str | None, Query(max_length=100)]


def _query(since: str | None, until: str | None, model: str | None) -> str:
    return urlencode({k: v for k, v in (("since", since), ("until", until), ("model", model)) if v})


def _filename(suffix: str) -> str:
    return f"tandem-report-{utcnow():%Y%m%d}.{suffix}"


@router.get("/report", response_class=HTMLResponse)
def report_page(
    request: Request, svc: Svc, since: Since = None, until: Since = None, model: Model = None
) -> Response:
    report = svc.reports.report(since, until, model)
    return HTMLResponse(
        render_html(report, export=False, query=_query(since, until, model), request=request)
    )


@router.get("/report/export.html")
def report_html(
    svc: Svc, since: Since = None, until: Since = None, model: Model = None
) -> Response:
    report = svc.reports.report(since, until, model)
    return HTMLResponse(
        render_html(report, export=True),
        headers={"Content-Disposition": f'attachment; filename="{_filename("html")}"'},
    )


@router.get("/report/export.pdf")
def report_pdf(svc: Svc, since: Since = None, until: Since = None, model: Model = None) -> Response:
    report = svc.reports.report(since, until, model)
    return Response(
        render_pdf(report),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{_filename("pdf")}"'},
    )
