"""Pages to govern models (registry, card, shadow comparison, promote, roll back)
and to debug one prediction (its record, its feedback, a replay button)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tandem.models.interface import CARD_SECTIONS
from tandem.pages.inputs import guidelines_of, view_of
from tandem.pages.templating import templates
from tandem.registry.cards import TITLES
from tandem.registry.registry import MAX_GUIDELINES
from tandem.registry.training_labels import record_of
from tandem.web.access import PAGE_ADMIN, PageAdmin, PageReviewer
from tandem.web.state import FormFields, Svc

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=5000)]


@router.get("/models", response_class=HTMLResponse, dependencies=[PAGE_ADMIN])
def models_page(request: Request, svc: Svc) -> Response:
    versions = svc.registry.versions()
    return templates.TemplateResponse(request, "models.html", {"versions": versions})


@router.get("/models/{name}/guidelines", response_class=HTMLResponse, dependencies=[PAGE_ADMIN])
def guidelines_page(request: Request, name: str, svc: Svc, saved: bool = False) -> Response:
    """Edit the model's guidelines for reviewers (declared before the version page, whose
    path would take "guidelines" for a version)."""
    svc.registry.check_known(name)
    g = svc.registry.guidelines(name)
    return templates.TemplateResponse(
        request,
        "guidelines.html",
        {
            "name": name,
            "markdown": g.markdown if g else "",
            "shown": guidelines_of(svc, [name]).get(name),
            "max_length": MAX_GUIDELINES,
            "saved": saved,
        },
    )


@router.post("/models/{name}/guidelines", response_class=HTMLResponse)
def edit_guidelines_page(
    request: Request,
    name: str,
    svc: Svc,
    who: PageAdmin,
    markdown: Annotated[str, Form()] = "",
) -> Response:
    """The editor recorded is the logged-in admin key's name. Too long a text is refused
    by the registry with its limit (the body limit bounds what is read at all)."""
    svc.registry.edit_guidelines(name, markdown, who.name)
    return RedirectResponse(f"/models/{name}/guidelines?saved=1", status_code=303)


@router.get("/models/{name}/{version}", response_class=HTMLResponse, dependencies=[PAGE_ADMIN])
def version_page(request: Request, name: str, version: str, svc: Svc) -> Response:
    mv = svc.registry.version(name, version)
    comparison: dict[str, Any] | None = None
    current = svc.registry.production(name)
    if current is not None and current.version != version:
        comparison = svc.registry.compare(name, version)
    return templates.TemplateResponse(
        request,
        "model_version.html",
        {
            "mv": mv,
            "training": record_of(mv),
            "comparison": comparison,
            "current": current,
            "sections": CARD_SECTIONS,
            "titles": TITLES,
            "events": [
                e
                for e in svc.registry.events(name)
                if e.version == version or e.previous_version == version
            ],
        },
    )


@router.post("/models/{name}/{version}/card", response_class=HTMLResponse)
def edit_card_page(
    request: Request, name: str, version: str, svc: Svc, who: PageAdmin, form: FormFields
) -> Response:
    here = f"/models/{name}/{version}"
    changes = {k: str(form.get(k, "")) for k in CARD_SECTIONS if k in form}
    svc.registry.edit_card(name, version, changes, who.name)
    return RedirectResponse(here, status_code=303)


@router.post("/models/{name}/{version}/promote", response_class=HTMLResponse)
def promote_page(
    request: Request, name: str, version: str, svc: Svc, who: PageAdmin, comment: Text = ""
) -> Response:
    """The approver is the logged-in admin key's name; the comment stays required."""
    here = f"/models/{name}/{version}"
    svc.registry.promote(name, version, who.name, comment)
    return RedirectResponse(here, status_code=303)


@router.post("/models/{name}/rollback", response_class=HTMLResponse)
def rollback_page(
    request: Request, name: str, svc: Svc, who: PageAdmin, comment: Text = ""
) -> Response:
    event = svc.registry.rollback(name, who.name, comment or None)
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
    svc.registry.set_shadow(name, version if on == "1" else None, who.name)
    return RedirectResponse(here, status_code=303)


@router.get("/predictions/{prediction_id}", response_class=HTMLResponse)
def prediction_page(
    request: Request,
    prediction_id: str,
    svc: Svc,
    who: PageReviewer,
    replay_version: str | None = None,
) -> Response:
    """Labels are hidden from reviewers while a second opinion on it is pending."""
    p = svc.reviews.prediction(prediction_id)
    replayed = svc.registry.replay(p, replay_version) if replay_version else None
    shown = svc.reviews.shown_labels(p.id, who.role.value)
    return templates.TemplateResponse(
        request,
        "prediction.html",
        {
            "p": p,
            "view": view_of(svc, p),
            "feedback": svc.reviews.feedback(p.id),
            "labels": shown.labels,
            "labels_hidden": shown.hidden,
            "final": shown.final,
            "replayed": replayed,
            "versions": svc.registry.versions(p.model),
            "postmortems": svc.triage.postmortems(p.id),
        },
    )
