"""Writers' drafts and what became of the suggestions they were given."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tandem.domain import DraftRevision, Prediction, SuggestionFeedback


@dataclass(frozen=True, slots=True)
class ShownRevision:
    """A draft's revision as the usefulness report reads it: the suggestions shown."""

    revision: DraftRevision
    suggestions: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class SuggestionFeedbackFilter:
    """Which suggestion feedback to read: of one prediction, or of one model given in
    [since, until) (for the usefulness report)."""

    prediction_id: str | None = None
    model: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class EditorStore(ABC):
    @abstractmethod
    def latest_revision(self, draft: str) -> tuple[DraftRevision, Prediction] | None:
        """The draft's last revision with its prediction; None for a new draft."""

    @abstractmethod
    def add_suggestion_feedback(self, row: SuggestionFeedback) -> None: ...

    @abstractmethod
    def list_suggestion_feedback(self, where: SuggestionFeedbackFilter) -> list[SuggestionFeedback]:
        """Oldest first."""

    @abstractmethod
    def shown_revisions(
        self, model: str, since: datetime | None = None, until: datetime | None = None
    ) -> list[ShownRevision]:
        """Every draft revision of `model` made in [since, until), with the suggestions
        its prediction gave, by (draft, revision)."""
