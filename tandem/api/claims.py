"""Claiming review items: POST /v1/reviews/claim, /v1/reviews/{id}/release, and
/v1/reviews/{id}/undo (a decision taken back)."""

from __future__ import annotations

from fastapi import APIRouter

from tandem.api.errors import KEYED, responses
from tandem.api.schemas import (
    ClaimRequest,
    ClaimResponse,
    ReleaseRequest,
    ReviewOut,
)
from tandem.review.claims import ClaimAsk
from tandem.review.queue import QueueAsk
from tandem.web.access import Reviewer
from tandem.web.state import Svc, served_labels

_errors = responses(*KEYED, 404, 409, 413, 422)
router = APIRouter(prefix="/v1/reviews", tags=["reviews"], responses=_errors)


@router.post("/claim", response_model=ClaimResponse)
def claim(body: ClaimRequest, svc: Svc, who: Reviewer) -> ClaimResponse:
    """Take up to `count` pending items to decide, oldest first (or in `sort` order),
    of `model`, `reason` and predicted `label` when given, for TANDEM_CLAIM_TTL_S
    seconds. Items you already hold are renewed and returned first; no one else can
    decide your items while the claim holds. Deciding an item ends its claim.

    Adjudications (reason `adjudication`) go to admins only: a reviewer who asks for
    them gets a 403. A second opinion never goes to the reviewer of the first answer."""
    reviewer = who.name
    asked = QueueAsk(model=body.model, reason=body.reason, label=body.label, sort=body.sort)
    aim = svc.reviews.aim(served_labels(svc), asked)
    until, rows = svc.reviews.claim(ClaimAsk(reviewer, body.count, aim, who.role.value))
    return ClaimResponse(
        reviewer=reviewer,
        expires_at=until,
        items=[ReviewOut.of(r, p, svc.reviews.answers(r)) for r, p in rows],
    )


@router.post("/{review_id}/release", response_model=ReviewOut)
def release(
    review_id: str, svc: Svc, who: Reviewer, body: ReleaseRequest | None = None
) -> ReviewOut:
    """Give a claimed item back to the queue (releasing an item nobody holds is a no-op)."""
    return ReviewOut.of(svc.reviews.release(review_id, who.name))


@router.post("/{review_id}/undo", response_model=ReviewOut)
def undo(review_id: str, svc: Svc, who: Reviewer) -> ReviewOut:
    """Take back your own decision within 60 seconds of making it: the item is pending
    again and held by you (for TANDEM_CLAIM_TTL_S seconds), and the label the decision
    recorded is withdrawn. 409 past 60 seconds, for an item decided by someone else, or
    for one not decided."""
    return ReviewOut.of(svc.reviews.undo(review_id, who.name))
