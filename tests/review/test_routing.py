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
        # A fallback below the threshold goes to a person; it is never held out.
        ("timeout", True, 0.1, ("fallback", "fallback")),
        ("busy", False, 0.1, ("fallback", "fallback")),
        ("busy", True, 0.9, ("fallback", None)),
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


@pytest.mark.parametrize(
    ("fallback_reason", "holdout", "confidence", "expected"),
    [
        (None, False, 1.0, ("review", "unusual_input")),  # whatever the confidence
        (None, True, 0.99, ("review", "unusual_input")),  # before holdout
        (None, False, 0.1, ("review", "unusual_input")),
        ("timeout", False, 0.99, ("fallback", "fallback")),  # a fallback keeps its route
    ],
)
def test_an_unusual_input_always_goes_to_review(
    fallback_reason: str | None, holdout: bool, confidence: float, expected: tuple[str, str | None]
) -> None:
    assert route(fallback_reason, holdout, confidence, 0.6, unusual=True) == expected
