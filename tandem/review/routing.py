"""Which predictions a person should look at."""

from __future__ import annotations


def needs_review(confidence: float, threshold: float) -> str | None:
    """The reason to route a prediction to review, or None to answer it directly.

    Strictly below the threshold: a threshold of 0 routes nothing, 1 routes
    everything that is not certain."""
    if confidence < threshold:
        return "low_confidence"
    return None
