"""Model registry API: versions, cards, shadow, comparison, promotion, rollback."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from tandem.api.errors import KEYED, responses
from tandem.api.schemas import (
    CardEdit,
    PromoteRequest,
    RollbackRequest,
    ShadowRequest,
)
from tandem.domain import ModelEvent, ModelVersion
from tandem.errors import Conflict, UnknownModel
from tandem.registry import versions as registry
from tandem.registry.cards import edit_card, render_markdown
from tandem.registry.compare import compare, evidence
from tandem.web.access import ADMIN, Admin
from tandem.web.state import Services, Svc

_errors = responses(*KEYED, 404, 409, 422)
# Everything about models is an operator's business: admin only, reads included.
router = APIRouter(prefix="/v1/models", tags=["models"], responses=_errors, dependencies=[ADMIN])


def version_json(mv: ModelVersion) -> dict[str, Any]:
    return {**asdict(mv), "created_at": mv.created_at.isoformat()}


def event_json(event: ModelEvent) -> dict[str, Any]:
    return {**asdict(event), "created_at": event.created_at.isoformat()}


def _known(svc: Services, name: str) -> None:
    if name not in svc.families and not svc.store.list_model_versions(name):
        raise UnknownModel(
            f"unknown model {name!r}; known models: {', '.join(sorted(svc.families)) or 'none'}"
        )


@router.get("")
def list_models(svc: Svc) -> dict[str, Any]:
    names = sorted(set(svc.families) | {v.name for v in svc.store.list_model_versions()})
    return {
        "models": [
            {
                "name": name,
                "production": svc.models.production[name].version
                if name in svc.models.production
                else None,
                "shadow": svc.models.shadows[name].version if name in svc.models.shadows else None,
                "versions": [version_json(v) for v in svc.store.list_model_versions(name)],
            }
            for name in names
        ]
    }


@router.get("/{name}/versions/{version}")
def get_version(name: str, version: str, svc: Svc) -> dict[str, Any]:
    """A version's metrics, card and slice metrics."""
    mv = svc.store.get_model_version(name, version)
    return {**version_json(mv), "slice_metrics": mv.metrics.get("slices", {})}


class MarkdownResponse(PlainTextResponse):
    media_type = "text/markdown"  # what /openapi.json documents, too


@router.get("/{name}/versions/{version}/card.md", response_class=MarkdownResponse)
def card_markdown(name: str, version: str, svc: Svc) -> PlainTextResponse:
    mv = svc.store.get_model_version(name, version)
    return MarkdownResponse(render_markdown(mv))


@router.put("/{name}/versions/{version}/card")
def update_card(name: str, version: str, body: CardEdit, svc: Svc, who: Admin) -> dict[str, Any]:
    """Replace card sections; the editor recorded is the caller's key name."""
    mv = svc.store.get_model_version(name, version)
    card = edit_card(mv.card, body.sections, who.name)
    svc.store.update_card(
        name,
        version,
        card,
        registry.make_event(
            name, "card_edit", version, None, who.name, ", ".join(sorted(body.sections))
        ),
    )
    return version_json(svc.store.get_model_version(name, version))


@router.get("/{name}/compare/{version}")
def compare_version(name: str, version: str, svc: Svc) -> dict[str, Any]:
    """Production vs `version`: agreement, accuracy on labelled items, latency, disagreements."""
    _known(svc, name)
    svc.store.get_model_version(name, version)
    current = svc.store.production_version(name)
    if current is None:
        raise Conflict(f"model {name!r} has no production version to compare with")
    return compare(
        svc.store, name, svc.models.get(name, current.version), svc.models.get(name, version)
    )


@router.post("/{name}/promote")
def promote(name: str, body: PromoteRequest, svc: Svc, who: Admin) -> dict[str, Any]:
    """Serve `version` from the next request on; needs a comment. The approver
    recorded is the caller's key name (an `approver` in the body is ignored)."""
    _known(svc, name)
    event = registry.promote(
        svc.store,
        name,
        body.version,
        who.name,
        body.comment,
        lambda: evidence(svc.store, svc.models.get, name, body.version),
    )
    svc.models.refresh()
    return event_json(event)


@router.post("/{name}/rollback")
def rollback(name: str, body: RollbackRequest, svc: Svc, who: Admin) -> dict[str, Any]:
    """Serve again the previous production version, from the next request on."""
    _known(svc, name)
    event = registry.rollback(svc.store, name, who.name, body.comment)
    svc.models.refresh()
    return event_json(event)


@router.post("/{name}/shadow")
def shadow(name: str, body: ShadowRequest, svc: Svc, who: Admin) -> dict[str, Any]:
    """Let a candidate score live traffic without affecting answers (null: stop)."""
    _known(svc, name)
    event = registry.set_shadow(svc.store, name, body.version, who.name)
    svc.models.refresh()
    return event_json(event)


@router.get("/{name}/events")
def events(name: str, svc: Svc) -> list[dict[str, Any]]:
    """The audit trail: registrations, promotions (with evidence), rollbacks, edits."""
    _known(svc, name)
    return [event_json(e) for e in svc.store.list_events(name)]
