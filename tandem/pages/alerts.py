"""The alerts dashboard: what fires now (with its evidence), the concern metrics, every
rule's latest check, and the history of firing periods."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tandem.pages.templating import templates
from tandem.web.state import Mon

router = APIRouter(include_in_schema=False)


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, mon: Mon, checked: int | None = None) -> Response:
    alerts = mon.alerts(limit=200)
    return templates.TemplateResponse(
        request,
        "alerts.html",
        {
            "firing": [a for a in alerts if a.state == "firing"],
            "history": [a for a in alerts if a.state == "resolved"],
            "concerns": mon.concern_values(),
            "rules": mon.rules,
            "checks": mon.checks(),
            "checked": checked,
        },
    )


@router.post("/alerts/check", response_class=HTMLResponse)
def check_from_page(mon: Mon) -> Response:
    result = mon.check()
    return RedirectResponse(f"/alerts?checked={len(result.transitions)}", status_code=303)
