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
    fallback_reason: str | None,
    holdout: bool,
    confidence: float,
    threshold: float,
    unusual: bool = False,
) -> tuple[Route, str | None]:
    """(route, review reason).

    A fallback answer keeps route `fallback` (so fallback rates and drift still tell
    it from the model's) and goes to review, reason `fallback`, when its confidence
    is below the threshold or its input is unusual; it is never held out (there is
    no model answer to test). Otherwise an input outside the version's training
    ranges (`unusual`) goes to review whatever its confidence, then a holdout item,
    then the confidence decides."""
    if fallback_reason:
        reviewed = unusual or needs_review(confidence, threshold) is not None
        return "fallback", ("fallback" if reviewed else None)
    if unusual:
        return "review", "unusual_input"
    if holdout:
        return "review", "holdout"
    reason = needs_review(confidence, threshold)
    return ("review" if reason else "model"), reason
