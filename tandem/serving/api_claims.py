"""Claiming review items: POST /v1/reviews/claim and /v1/reviews/{id}/release."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from tandem.review import claims
from tandem.serving.identity import current_reviewer
from tandem.serving.schemas import (
    ClaimRequest,
    ClaimResponse,
    ErrorResponse,
    ReleaseRequest,
    ReviewOut,
)
from tandem.serving.state import Services, services

_errors: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (404, 409, 413, 422)
}
router = APIRouter(prefix="/v1/reviews", tags=["reviews"], responses=_errors)
Svc = Annotated[Services, Depends(services)]


@router.post("/claim", response_model=ClaimResponse)
async def claim(request: Request, body: ClaimRequest, svc: Svc) -> ClaimResponse:
    """Take up to `count` pending items to decide, oldest first, for TANDEM_CLAIM_TTL_S
    seconds. Items you already hold are renewed and returned first; no one else can
    decide your items while the claim holds. Deciding an item ends its claim."""
    reviewer = current_reviewer(request, body.reviewer)
    until, rows = claims.claim(svc.store, reviewer, body.count, svc.settings.claim_ttl_s)
    return ClaimResponse(
        reviewer=reviewer, expires_at=until, items=[ReviewOut.of(r, p) for r, p in rows]
    )


@router.post("/{review_id}/release", response_model=ReviewOut)
async def release(request: Request, review_id: str, body: ReleaseRequest, svc: Svc) -> ReviewOut:
    """Give a claimed item back to the queue (releasing an item nobody holds is a no-op)."""
    reviewer = current_reviewer(request, body.reviewer)
    return ReviewOut.of(claims.release(svc.store, review_id, reviewer))
