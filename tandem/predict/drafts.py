"""A writer's draft: each re-score is the next revision, and what the writer changed
between two revisions says which suggestions they followed (implicit feedback)."""

from __future__ import annotations

from typing import Any

from tandem.domain import DraftRevision, Prediction, SuggestionFeedback
from tandem.ids import new_id
from tandem.models.interface import Predictor


def editor_score(predictor: Predictor, prediction: Prediction) -> float | None:
    """The probability of the editor's good label: the score a writer sees (None for a
    model that offers no editor)."""
    if predictor.editor is None:
        return None
    good = predictor.editor.good_label
    return next(
        (float(a["probability"]) for a in prediction.alternatives if a["label"] == good), None
    )


def followed(suggestion: dict[str, Any], before: dict[str, float], after: dict[str, float]) -> bool:
    """Whether the feature moved the way the suggestion advised."""
    feature, advice = suggestion.get("feature"), suggestion.get("advice")
    if feature not in before or feature not in after or advice is None:
        return False
    moved = after[feature] - before[feature]
    return moved > 0 if advice == "increase" else moved < 0


def revise(
    predictor: Predictor,
    prediction: Prediction,
    draft: str,
    previous: tuple[DraftRevision, Prediction] | None,
    author: str | None,
) -> tuple[DraftRevision, tuple[SuggestionFeedback, ...]]:
    """The revision `prediction` makes of `draft`, and the implicit feedback on each
    suggestion of the previous revision. An unchanged input says nothing: no feedback."""
    score = editor_score(predictor, prediction)
    if previous is None:
        return DraftRevision(
            prediction.id, draft, 1, prediction.model, prediction.created_at, None, author, score
        ), ()
    last, before = previous
    revision = DraftRevision(
        prediction.id,
        draft,
        last.revision + 1,
        prediction.model,
        prediction.created_at,
        before.id,
        author,
        score,
    )
    if before.input == prediction.input:
        return revision, ()
    change = None if score is None or last.score is None else round(score - last.score, 6)
    followups = tuple(
        SuggestionFeedback(
            new_id(),
            before.id,
            str(s["id"]),
            prediction.model,
            "implicit",
            prediction.created_at,
            followed=followed(s, before.features, prediction.features),
            score_change=change,
            next_prediction_id=prediction.id,
            draft=draft,
            author=author,
        )
        for s in before.suggestions
        if s.get("feature")
    )
    return revision, followups
