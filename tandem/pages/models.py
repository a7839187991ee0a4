"""Pages to govern models (registry, card, shadow comparison, promote, roll back)
and to debug one prediction (its record, its feedback, a replay button)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tandem.models.interface import CARD_SECTIONS
from tandem.pages.templating import templates
from tandem.registry import versions as registry
from tandem.registry.cards import TITLES, edit_card
from tandem.registry.compare import compare, evidence
from tandem.registry.replay import replay
from tandem.web.access import PAGE_ADMIN, PAGE_REVIEWER, PageAdmin
from tandem.web.state import FormFields, Svc

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=5000)]


@router.get("/models", response_class=HTMLResponse, dependencies=[PAGE_ADMIN])
def models_page(request: Request, svc: Svc) -> Response:
    versions = svc.store.list_model_versions()
    return templates.TemplateResponse(request, "models.html", {"versions": versions})


@router.get("/models/{name}/{version}", response_class=HTMLResponse, dependencies=[PAGE_ADMIN])
def version_page(request: Request, name: str, version: str, svc: Svc) -> Response:
    mv = svc.store.get_model_version(name, version)
    comparison: dict[str, Any] | None = None
    current = svc.store.production_version(name)
    if current is not None and current.version != version:
        comparison = compare(
            svc.store,
            name,
            svc.models.get(name, current.version),
            svc.models.get(name, version),
        )
    return templates.TemplateResponse(
        request,
        "model_version.html",
        {
            "mv": mv,
            "comparison": comparison,
            "current": current,
            "sections": CARD_SECTIONS,
            "titles": TITLES,
            "events": [
                e
                for e in svc.store.list_events(name)
                if e.version == version or e.previous_version == version
            ],
        },
    )


@router.post("/models/{name}/{version}/card", response_class=HTMLResponse)
def edit_card_page(
    request: Request, name: str, version: str, svc: Svc, who: PageAdmin, form: FormFields
) -> Response:
    here = f"/models/{name}/{version}"
    mv = svc.store.get_model_version(name, version)
    changes = {k: str(form.get(k, "")) for k in CARD_SECTIONS if k in form}
    card = edit_card(mv.card, changes, who.name)
    svc.store.update_card(
        name,
        version,
        card,
        registry.make_event(
            name, "card_edit", version, None, card["edited_by"], ", ".join(sorted(changes))
        ),
    )
    return RedirectResponse(here, status_code=303)


@router.post("/models/{name}/{version}/promote", response_class=HTMLResponse)
def promote_page(
    request: Request, name: str, version: str, svc: Svc, who: PageAdmin, comment: Text = ""
) -> Response:
    """The approver is the logged-in admin key's name; the comment stays required."""
    here = f"/models/{name}/{version}"
    registry.promote(
        svc.store,
        name,
        version,
        who.name,
        comment,
        lambda: evidence(svc.store, svc.models.get, name, version),
    )
    svc.models.refresh()
    return RedirectResponse(here, status_code=303)


@router.post("/models/{name}/rollback", response_class=HTMLResponse)
def rollback_page(
    request: Request, name: str, svc: Svc, who: PageAdmin, comment: Text = ""
) -> Response:
    event = registry.rollback(svc.store, name, who.name, comment or None)
    svc.models.refresh()
    return RedirectResponse(f"/models/{name}/{event.version}", status_code=303)


@router.post("/models/{name}/{version}/shadow", response_class=HTMLResponse)
def shadow_page(
    request: Request,
    name: str,
    version: str,
    svc: Svc,
    who: PageAdmin,
    on: Annotated[str, Form()] = "1",
) -> Response:
    here = f"/models/{name}/{version}"
    registry.set_shadow(svc.store, name, version if on == "1" else None, who.name)
    svc.models.refresh()
    return RedirectResponse(here, status_code=303)


@router.get(
    "/predictions/{prediction_id}", response_class=HTMLResponse, dependencies=[PAGE_REVIEWER]
)
def prediction_page(
    request: Request, prediction_id: str, svc: Svc, replay_version: str | None = None
) -> Response:
    p = svc.store.get_prediction(prediction_id)
    replayed = None
    if replay_version:
        replayed = replay(p, svc.models.get(p.model, replay_version))
    return templates.TemplateResponse(
        request,
        "prediction.html",
        {
            "p": p,
            "feedback": svc.store.list_feedback(p.id),
            "labels": svc.store.list_labels(p.id),
            "replayed": replayed,
            "versions": svc.store.list_model_versions(p.model),
            "postmortems": svc.store.list_postmortems(p.id),
        },
    )
