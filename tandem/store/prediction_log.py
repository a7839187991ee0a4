"""The prediction log: every answered request's prediction (with its review item and
intake row), shadow results and failed requests' intake rows, and reads of them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import datetime

from tandem import domain
from tandem.domain import PredictionFilter as PredictionFilter


@dataclass(frozen=True, slots=True)
class LogEntry:
    """What one request writes; the parts present are stored together or not at all."""

    prediction: domain.Prediction | None = None
    review: domain.ReviewItem | None = None
    """With its prediction, when that was routed to review."""
    intake: domain.Intake | None = None
    """Every request's: with its prediction when answered, alone when refused."""
    shadow: domain.ShadowResult | None = None
    """Alone: a shadow version answers after the request was answered and logged."""
    revision: domain.DraftRevision | None = None
    outcomes: tuple[domain.SuggestionOutcome, ...] = ()
    """For a draft's revision: what the writer did with the previous one's suggestions."""


class PredictionReads(ABC):
    """Reads of the log, shared by every domain that looks at predictions."""

    @abstractmethod
    def get_prediction(self, prediction_id: str) -> domain.Prediction:
        """Raise NotFound when the id is unknown."""

    @abstractmethod
    def list_predictions(self, where: PredictionFilter) -> list[domain.Prediction]:
        """Oldest first, at most `where.limit`."""

    @abstractmethod
    def count_predictions(self, model: str | None = None) -> int: ...

    @abstractmethod
    def list_prediction_ids(
        self, since: datetime | None = None, until: datetime | None = None, model: str | None = None
    ) -> list[str]:
        """Ids of the predictions created in [since, until): cheap enough for checking
        that a load run's every answer was stored exactly once."""

    @abstractmethod
    def intake_counts(
        self, since: datetime | None = None, until: datetime | None = None, model: str | None = None
    ) -> dict[str, int]:
        """Prediction requests received in [since, until) by outcome: `received`,
        `answered`, `failed`, and `answered_unlogged` (answered rows whose prediction is
        not in the predictions table: must be 0)."""


class PredictionLog(PredictionReads):
    """Where requests are logged. `write` is the serving path: entries from many
    concurrent requests share one commit (the writer behind it is the
    implementation's business, started by `start` or by the first write)."""

    @abstractmethod
    def write(self, entry: LogEntry) -> Awaitable[None]:
        """Await the result: it returns once `entry` is committed ("acknowledged =
        stored") and raises the store's error if it was not (StoreUnavailable when
        the store cannot be reached, StoreError when the entry was refused, both
        saying the prediction was not stored)."""

    @abstractmethod
    def add_predictions(self, entries: Sequence[LogEntry]) -> None:
        """Store many entries in one transaction, or none of them, without the
        writer (bulk loads)."""

    @abstractmethod
    def start(self, process: bool = False, linger_s: float | None = None) -> None:
        """Start the writer now rather than on the first write (a server's start-up);
        with `process`, in a process of its own where the store allows it (see
        tandem.store.writer_process). `linger_s`: how long, under load, a batch waits
        for company (None: the writer's own default)."""

    @abstractmethod
    def close(self) -> None:
        """Write every entry already queued, stop the writer, release connections."""
