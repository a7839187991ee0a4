"""The error responses a router documents in OpenAPI: each is the one error shape
(`{"error": {"code", "message"}}`) that tandem/web/errors.py answers with."""

from __future__ import annotations

from typing import Any

from tandem.api.schemas import ErrorResponse

KEYED = (401, 403)
"""What any route that needs a key may answer: no valid key, or a role too low."""


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these statuses, each with the error body; its content
    type is said explicitly because errors are JSON even where the answer is text."""
    return {
        code: {"model": ErrorResponse, "content": {"application/json": {}}}
        for code in sorted(set(codes))
    }
