"""Who is acting: the one place routes and pages ask for the reviewer's identity.

Today the request states it (a decision's or claim's `reviewer` field, the review
page's form field). When API keys arrive, the key's identity replaces the stated one
here, and no route changes."""

from __future__ import annotations

from fastapi import Request

from tandem.errors import InvalidInput


def current_reviewer(request: Request, stated: str | None) -> str:
    """The reviewer making this request; `stated` is what the request body or form says."""
    reviewer = (stated or "").strip()
    if not reviewer:
        raise InvalidInput("say who is reviewing: give a non-empty 'reviewer'")
    return reviewer
