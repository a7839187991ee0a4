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
from tandem.registry.cards import render_markdown
from tandem.registry.training_labels import record_of
from tandem.web.access import ADMIN, Admin
from tandem.web.state import Svc

_errors = responses(*KEYED, 404, 409, 422)
# Everything about models is an operator's business: admin only, reads included.
router = APIRouter(prefix="/v1/models", tags=["models"], responses=_errors, dependencies=[ADMIN])


def version_json(mv: ModelVersion) -> dict[str, Any]:
    return {**asdict(mv), "created_at": mv.created_at.isoformat()}


def event_json(event: ModelEvent) -> dict[str, Any]:
    return {**asdict(event), "created_at": event.created_at.isoformat()}


@router.get("")
def list_models(svc: Svc) -> dict[str, Any]:
    return {
        "models": [
            {
                "name": name,
                "production": svc.models.production[name].version
                if name in svc.models.production
                else None,
                "shadow": svc.models.shadows[name].version if name in svc.models.shadows else None,
                "versions": [version_json(v) for v in svc.registry.versions(name)],
            }
            for name in svc.registry.names()
        ]
    }


@router.get("/{name}/versions/{version}")
def get_version(name: str, version: str, svc: Svc) -> dict[str, Any]:
    """A version's metrics, card and slice metrics, and the labels from people it was
    trained on (count, time range, hash; null: trained on its dataset)."""
    mv = svc.registry.version(name, version)
    return {
        **version_json(mv),
        "slice_metrics": mv.metrics.get("slices", {}),
        "training_labels": record_of(mv),
    }


class MarkdownResponse(PlainTextResponse):
    media_type = "text/markdown"  # what /openapi.json documents, too


@router.get("/{name}/versions/{version}/card.md", response_class=MarkdownResponse)
def card_markdown(name: str, version: str, svc: Svc) -> PlainTextResponse:
    mv = svc.registry.version(name, version)
    return MarkdownResponse(render_markdown(mv))


@router.put("/{name}/versions/{version}/card")
def update_card(name: str, version: str, body: CardEdit, svc: Svc, who: Admin) -> dict[str, Any]:
    """Replace card sections; the editor recorded is the caller's key name."""
    return version_json(svc.registry.edit_card(name, version, body.sections, who.name))


@router.get("/{name}/compare/{version}")
def compare_version(name: str, version: str, svc: Svc) -> dict[str, Any]:
    """Production vs `version`: agreement, accuracy on the labelled items neither was
    trained on (with their count), latency, disagreements."""
    svc.registry.check_known(name)
    return svc.registry.compare(name, version)


@router.post("/{name}/promote")
def promote(name: str, body: PromoteRequest, svc: Svc, who: Admin) -> dict[str, Any]:
    """Serve `version` from the next request on; needs a comment. The approver
    recorded is the caller's key name (an `approver` in the body is ignored)."""
    svc.registry.check_known(name)
    return event_json(svc.registry.promote(name, body.version, who.name, body.comment))


@router.post("/{name}/rollback")
def rollback(name: str, body: RollbackRequest, svc: Svc, who: Admin) -> dict[str, Any]:
    """Serve again the previous production version, from the next request on."""
    svc.registry.check_known(name)
    return event_json(svc.registry.rollback(name, who.name, body.comment))


@router.post("/{name}/shadow")
def shadow(name: str, body: ShadowRequest, svc: Svc, who: Admin) -> dict[str, Any]:
    """Let a candidate score live traffic without affecting answers (null: stop)."""
    svc.registry.check_known(name)
    return event_json(svc.registry.set_shadow(name, body.version, who.name))


@router.get("/{name}/events")
def events(name: str, svc: Svc) -> list[dict[str, Any]]:
    """The audit trail: registrations, promotions (with evidence), rollbacks, edits."""
    svc.registry.check_known(name)
    return [event_json(e) for e in svc.registry.events(name)]
