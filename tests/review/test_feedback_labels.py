from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tandem.domain import Prediction
from tandem.errors import InvalidInput
from tandem.review.service import resolve_feedback_label


def _prediction(label: str, labels: tuple[str, ...]) -> Prediction:
    return Prediction(
        id="p",
        created_at=datetime.now(UTC),
        model="m",
        model_version="v",
        input={},
        features={},
        label=label,
        confidence=0.6,
        alternatives=[{"label": lab, "probability": 0.5} for lab in labels],
        explanation=[],
        suggestions=[],
        route="model",
        latency_ms=1.0,
    )


TWO = _prediction("good", ("good", "poor"))
THREE = _prediction("a", ("a", "b", "c"))


@pytest.mark.parametrize(
    ("prediction", "kind", "label", "expected"),
    [
        (TWO, "correct", None, "good"),
        (TWO, "correct", "good", "good"),
        (TWO, "incorrect", "poor", "poor"),
        (TWO, "incorrect", None, "poor"),  # two labels: "incorrect" names the other
        (THREE, "incorrect", None, None),  # three labels: no label implied
        (THREE, "incorrect", "c", "c"),
        (TWO, "bug", None, None),
        (TWO, "bug", "poor", "poor"),
    ],
)
def test_feedback_implies_label(
    prediction: Prediction, kind: str, label: str | None, expected: str | None
) -> None:
    assert resolve_feedback_label(prediction, kind, label) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "label", "message"),
    [
        ("correct", "poor", "use kind 'incorrect'"),
        ("incorrect", "good", "use kind 'correct'"),
        ("incorrect", "great", "not one of the model's labels"),
    ],
)
def test_contradictory_feedback_is_refused(kind: str, label: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        resolve_feedback_label(TWO, kind, label)  # type: ignore[arg-type]
