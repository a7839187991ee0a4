"""Writers' drafts and what became of the suggestions they were given."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tandem.domain import DraftRevision, Prediction, SuggestionOutcome, SuggestionRating


@dataclass(frozen=True, slots=True)
class ShownRevision:
    """A draft's revision as the usefulness report reads it: the suggestions shown."""

    revision: DraftRevision
    suggestions: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class SuggestionFeedbackFilter:
    """Which ratings or outcomes of suggestions to read: of one prediction, or of one
    model given in [since, until) (for the usefulness report)."""

    prediction_id: str | None = None
    model: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class EditorStore(ABC):
    @abstractmethod
    def latest_revision(self, draft: str) -> tuple[DraftRevision, Prediction] | None:
        """The draft's last revision with its prediction; None for a new draft."""

    @abstractmethod
    def add_suggestion_rating(self, rating: SuggestionRating) -> None:
        """Store a writer's rating (outcomes are written with their revision's
        prediction, through the prediction log)."""

    @abstractmethod
    def list_suggestion_ratings(self, where: SuggestionFeedbackFilter) -> list[SuggestionRating]:
        """Oldest first."""

    @abstractmethod
    def list_suggestion_outcomes(self, where: SuggestionFeedbackFilter) -> list[SuggestionOutcome]:
        """Oldest first."""

    @abstractmethod
    def shown_revisions(
        self, model: str, since: datetime | None = None, until: datetime | None = None
    ) -> list[ShownRevision]:
        """Every draft revision of `model` made in [since, until), with the suggestions
        its prediction gave, by (draft, revision)."""
