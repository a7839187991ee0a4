"""What monitoring reads and keeps: concern metrics, the review ledger, alerts and
each rule's last check, drift references and the logged features drift compares
with them, and the latency histogram behind /metrics."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tandem.incidents import Alert, AlertState, RuleCheck
from tandem.store.aggregates import Aggregate, ReviewLedger
from tandem.store.job_locks import JobLocks
from tandem.store.prediction_log import PredictionFilter, PredictionReads
from tandem.store.registry_store import DriftReferences, VersionReads
from tandem.store.review_queue import LabelReads

if TYPE_CHECKING:  # numpy loads with the drift reads, not with every store
    import numpy as np
    import numpy.typing as npt

    from tandem.store.feature_blocks import Chunk, Compaction


@dataclass(frozen=True, slots=True, eq=False)
class LoggedFeatures:
    """Logged predictions as columns, newest first: what drift reads. `values` is
    rows x names (NaN where a row lacks a feature); `total` counts every row the filter
    matched, of which at most the limit were read."""

    names: tuple[str, ...]
    values: npt.NDArray[np.float64]
    labels: list[str]
    confidences: npt.NDArray[np.float64]
    routes: list[str]
    total: int


@dataclass(frozen=True, slots=True, eq=False)
class LoggedChunks:
    """A window's logged predictions to read a chunk at a time: `total` rows matched
    the filter, `rows` of them (the newest `limit`) come in `chunks`, each a few
    blocks' worth (iterate it once, to the end or `close()` it: it holds a
    transaction open while it reads), with the features `names`."""

    total: int
    rows: int
    names: tuple[str, ...]
    chunks: Iterator[Chunk]


class MonitoringStore(PredictionReads, LabelReads, VersionReads, DriftReferences, JobLocks):
    # -- concern metrics -------------------------------------------------------
    @abstractmethod
    def aggregate(self, query: Aggregate) -> float | None:
        """One number named in the monitoring vocabulary; None when no row matches
        (except `count`, which is 0)."""

    @abstractmethod
    def review_ledger(self, since: datetime | None, until: datetime | None) -> ReviewLedger:
        """What became of the review items of the predictions created in [since, until)."""

    @abstractmethod
    def prediction_stats(
        self, latency_buckets_ms: tuple[float, ...]
    ) -> list[tuple[str, str, str | None, int, list[int], float]]:
        """Per (model, route, fallback reason): count, cumulative latency bucket
        counts, and latency sum; for /metrics, from the store so every worker agrees."""

    @abstractmethod
    def review_reasons(self) -> list[tuple[str, str, int]]:
        """Review items per (model, reason), for /metrics."""

    # -- alerts ----------------------------------------------------------------
    @abstractmethod
    def open_alert(self, alert: Alert) -> bool:
        """Store a firing alert unless its rule already has one open (then False).

        The database refuses a second open alert per rule, so workers racing to
        store the same transition store it once."""

    @abstractmethod
    def resolve_alert(self, rule: str, at: datetime, resolution: dict[str, Any]) -> Alert | None:
        """Close the rule's open alert; None when it had none (or another worker
        closed it first)."""

    @abstractmethod
    def record_delivery(self, alert_id: str, transition: AlertState, outcome: str) -> None:
        """Note how sending a transition to the webhook went."""

    @abstractmethod
    def list_alerts(
        self, state: AlertState | None = None, rule: str | None = None, limit: int = 100
    ) -> list[Alert]:
        """Firing alerts first, then the newest."""

    @abstractmethod
    def save_check(self, check: RuleCheck) -> None:
        """Replace the rule's latest evaluation."""

    @abstractmethod
    def list_checks(self) -> list[RuleCheck]: ...

    # -- logged features (drift) -------------------------------------------------
    @abstractmethod
    def logged_features(self, where: PredictionFilter, names: Sequence[str]) -> LoggedFeatures:
        """The features `names` of the newest `where.limit` predictions `where` selects
        (by model, version and time), as a matrix, with their labels, confidences and
        routes; rows in no particular order."""

    @abstractmethod
    def logged_feature_chunks(
        self, where: PredictionFilter, names: Sequence[str] | None = None
    ) -> LoggedChunks:
        """What `logged_features` reads, in chunks of a bounded size: drift over a
        window of any length counts it a chunk at a time. `names` None: every feature
        logged in the window."""

    @abstractmethod
    def compact_feature_blocks(self) -> Compaction:
        """Merge the small blocks logged features are kept in (one per write batch)
        into big ones, so a long drift window stays a few rows to read."""
