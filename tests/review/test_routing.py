from __future__ import annotations

import pytest

from tandem.review.routing import needs_review, route


@pytest.mark.parametrize(
    ("confidence", "threshold", "reason"),
    [
        (0.51, 0.6, "low_confidence"),
        (0.6, 0.6, None),  # at the threshold: answered by the model
        (0.99, 0.6, None),
        (0.5, 0.0, None),  # threshold 0 routes nothing
        (0.999, 1.0, "low_confidence"),  # threshold 1 routes everything uncertain
    ],
)
def test_below_threshold_goes_to_review(
    confidence: float, threshold: float, reason: str | None
) -> None:
    assert needs_review(confidence, threshold) == reason


@pytest.mark.parametrize(
    ("fallback_reason", "holdout", "confidence", "expected"),
    [
        ("timeout", True, 0.1, ("fallback", None)),  # no model answer to review or hold out
        ("busy", False, 0.1, ("fallback", None)),
        (None, True, 0.99, ("review", "holdout")),  # holdout whatever the confidence
        (None, True, 0.1, ("review", "holdout")),
        (None, False, 0.1, ("review", "low_confidence")),
        (None, False, 0.6, ("model", None)),
        (None, False, 0.99, ("model", None)),
    ],
)
def test_route_fallback_first_then_holdout_then_confidence(
    fallback_reason: str | None, holdout: bool, confidence: float, expected: tuple[str, str | None]
) -> None:
    assert route(fallback_reason, holdout, confidence, 0.6) == expected
