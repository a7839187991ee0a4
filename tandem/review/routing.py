"""Which predictions a person should look at."""

from __future__ import annotations

from tandem.domain import Route


def needs_review(confidence: float, threshold: float) -> str | None:
    """The reason to route a prediction to review, or None to answer it directly.

    Strictly below the threshold: a threshold of 0 routes nothing, 1 routes
    everything that is not certain."""
    if confidence < threshold:
        return "low_confidence"
    return None


def route(
    fallback_reason: str | None, holdout: bool, confidence: float, threshold: float
) -> tuple[Route, str | None]:
    """(route, review reason): a fallback answer is never reviewed (there is no model
    answer to check); a holdout item always is, whatever its confidence; otherwise
    the confidence decides."""
    if fallback_reason:
        return "fallback", None
    if holdout:
        return "review", "holdout"
    reason = needs_review(confidence, threshold)
    return ("review" if reason else "model"), reason
