"""A writer's draft: each re-score is the next revision, and what the writer changed
between two revisions says which suggestions they followed (their outcomes)."""

from __future__ import annotations

from typing import Any

from tandem.domain import DraftRevision, Prediction, SuggestionOutcome
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
) -> tuple[DraftRevision, tuple[SuggestionOutcome, ...]]:
    """The revision `prediction` makes of `draft`, and the outcome of each suggestion
    of the previous revision. An unchanged input says nothing: no outcomes."""
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
    outcomes = tuple(
        SuggestionOutcome(
            id=new_id(),
            prediction_id=before.id,
            suggestion=str(s["id"]),
            model=prediction.model,
            created_at=prediction.created_at,
            author=author,
            draft=draft,
            next_prediction_id=prediction.id,
            followed=followed(s, before.features, prediction.features),
            score_change=change,
        )
        for s in before.suggestions
        if s.get("feature")
    )
    return revision, outcomes
