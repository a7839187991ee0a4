from __future__ import annotations

import pytest

from tandem.review.routing import needs_review


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
