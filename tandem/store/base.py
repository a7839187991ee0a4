"""The store interface. Services depend on this, never on SQL; the URL picks the
implementation (see `tandem.store.open_store`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from tandem.domain import (
    ApiKey,
    Feedback,
    Intake,
    Label,
    ModelEvent,
    ModelVersion,
    Prediction,
    ReviewItem,
    ShadowResult,
    StoredReference,
)
from tandem.incidents import (
    ActionPoint,
    ActionStatus,
    Alert,
    AlertState,
    BugReport,
    BugStatus,
    PostMortem,
    RuleCheck,
    TimelineEntry,
)
from tandem.store.aggregates import Aggregate, ReviewLedger
from tandem.store.feature_blocks import Compaction


@dataclass(frozen=True, slots=True)
class PredictionFilter:
    """Which logged predictions to read (for replay, evaluation and monitoring)."""

    model: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    route: str | None = None
    label: str | None = None
    version: str | None = None
    holdout: bool | None = None
    limit: int = 1000


@dataclass(frozen=True, slots=True)
class PredictionFacts:
    """Column-wise facts about the predictions in a window (for reports)."""

    created_at: list[datetime]
    model: list[str]
    route: list[str]
    latency_ms: list[float]
    holdout: list[bool]


@dataclass(frozen=True, slots=True)
class ReviewFacts:
    """Column-wise facts about the review items created in a window (for reports)."""

    created_at: list[datetime]
    decided_at: list[datetime | None]
    status: list[str]
    reviewer: list[str | None]
    reason: list[str]


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


@dataclass(frozen=True, slots=True)
class LogEntry:
    """What one request writes; the parts present are stored together or not at all."""

    prediction: Prediction | None = None
    review: ReviewItem | None = None
    intake: Intake | None = None
    shadow: ShadowResult | None = None


class BatchLog(ABC):
    """A connection that does nothing but write batches of log entries, owned by one
    thread (the group-commit writer): one writer per process is what keeps SQLite's
    lock uncontended, and a dedicated connection skips the pool on every batch."""

    @abstractmethod
    def write(self, entries: Sequence[LogEntry]) -> None:
        """Store every entry in one transaction, or none of them.

        Raise StoreUnavailable when the store cannot be reached or is locked (retrying
        entries one by one would fail the same way) and another StoreError or Conflict
        when the data was refused (another entry of the batch may still be storable)."""

    @abstractmethod
    def close(self) -> None: ...


class Store(ABC):
    # -- predictions -------------------------------------------------------
    @abstractmethod
    def add_prediction(self, prediction: Prediction, review: ReviewItem | None = None) -> None:
        """Store a prediction and, atomically, its review item if it was routed to one."""

    @abstractmethod
    def get_prediction(self, prediction_id: str) -> Prediction:
        """Raise NotFound when the id is unknown."""

    @abstractmethod
    def list_predictions(self, where: PredictionFilter) -> list[Prediction]:
        """Oldest first, at most `where.limit`."""

    @abstractmethod
    def count_predictions(self, model: str | None = None) -> int: ...

    @abstractmethod
    def prediction_stats(
        self, latency_buckets_ms: tuple[float, ...]
    ) -> list[tuple[str, str, str | None, int, list[int], float]]:
        """Per (model, route, fallback reason): count, cumulative latency bucket
        counts, and latency sum; for /metrics, from the store so every worker agrees."""

    # -- review queue --------------------------------------------------------
    @abstractmethod
    def get_review(self, review_id: str) -> ReviewItem: ...

    @abstractmethod
    def list_reviews(
        self, status: str | None, limit: int = 50, offset: int = 0
    ) -> list[tuple[ReviewItem, Prediction]]: ...

    @abstractmethod
    def count_reviews(self, status: str | None = None) -> int: ...

    @abstractmethod
    def decide_review(
        self,
        review_id: str,
        label: str,
        reviewer: str,
        comment: str | None,
        at: datetime,
        check: Callable[[Prediction], None] | None = None,
    ) -> ReviewItem:
        """The whole decision in one transaction: read the item's prediction and pass
        it to `check` (which raises to refuse the decision), mark the item decided and
        its claim ended, record the label. Nothing is written unless all of it is.

        Raise NotFound for an unknown item, and Conflict if it was already decided or
        another reviewer's claim holds it: two reviewers racing must not both win."""

    # -- feedback and labels -------------------------------------------------
    @abstractmethod
    def add_feedback(self, item: Feedback, label: Label | None) -> None: ...

    @abstractmethod
    def list_feedback(self, prediction_id: str) -> list[Feedback]: ...

    @abstractmethod
    def list_labels(self, prediction_id: str | None = None) -> list[Label]: ...

    @abstractmethod
    def labelled_predictions(self, model: str) -> list[tuple[Prediction, Label]]:
        """Every prediction of `model` that people labelled, with its latest label
        (later labels win; the label keeps its source)."""

    # -- model versions ------------------------------------------------------
    @abstractmethod
    def add_model_version(self, version: ModelVersion, event: ModelEvent | None = None) -> None: ...

    @abstractmethod
    def list_model_versions(self, name: str | None = None) -> list[ModelVersion]: ...

    @abstractmethod
    def get_model_version(self, name: str, version: str) -> ModelVersion: ...

    @abstractmethod
    def set_production(self, name: str, version: str, event: ModelEvent) -> None:
        """Make `version` the one production version, retiring the previous one,
        and store the audit event in the same transaction."""

    @abstractmethod
    def set_shadow(self, name: str, version: str | None, event: ModelEvent) -> None: ...

    @abstractmethod
    def update_card(
        self, name: str, version: str, card: dict[str, Any], event: ModelEvent
    ) -> None: ...

    @abstractmethod
    def list_events(self, name: str | None = None) -> list[ModelEvent]: ...

    @abstractmethod
    def add_shadow_result(self, result: ShadowResult) -> None: ...

    @abstractmethod
    def list_shadow_results(self, name: str, version: str) -> list[ShadowResult]: ...

    def production_version(self, name: str) -> ModelVersion | None:
        for v in self.list_model_versions(name):
            if v.status == "production":
                return v
        return None

    def shadow_version(self, name: str) -> ModelVersion | None:
        for v in self.list_model_versions(name):
            if v.shadow:
                return v
        return None

    # -- reporting -----------------------------------------------------------
    @abstractmethod
    def prediction_facts(
        self, since: datetime | None, until: datetime | None, model: str | None = None
    ) -> PredictionFacts: ...

    @abstractmethod
    def review_facts(
        self, since: datetime | None, until: datetime | None, model: str | None = None
    ) -> ReviewFacts: ...

    @abstractmethod
    def feedback_of_kind(
        self,
        kind: str,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 20,
    ) -> list[Feedback]:
        """Newest first."""

    @abstractmethod
    def close(self) -> None: ...

    # -- monitoring: concern metrics and alerts (tandem.monitor) ---------------
    @abstractmethod
    def aggregate(self, query: Aggregate) -> float | None:
        """One number named in the monitoring vocabulary; None when no row matches
        (except `count`, which is 0)."""

    @abstractmethod
    def review_ledger(self, since: datetime | None, until: datetime | None) -> ReviewLedger:
        """What became of the review items of the predictions created in [since, until)."""

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

    # -- bug triage and post-mortems (tandem.triage) ---------------------------
    @abstractmethod
    def list_bugs(
        self, status: BugStatus | None = None, limit: int = 100, offset: int = 0
    ) -> list[BugReport]:
        """Feedback of kind `bug`, newest first, with its triage status."""

    @abstractmethod
    def count_bugs(self, status: BugStatus | None = None) -> int: ...

    @abstractmethod
    def set_bug_status(
        self, feedback_id: str, status: BugStatus, actor: str | None, note: str | None, at: datetime
    ) -> BugReport:
        """Raise NotFound unless `feedback_id` is a bug report."""

    @abstractmethod
    def add_postmortem(self, record: PostMortem) -> None:
        """Store a post-mortem with its prediction snapshots, timeline and actions."""

    @abstractmethod
    def get_postmortem(self, postmortem_id: str) -> PostMortem:
        """Raise NotFound when the id is unknown."""

    @abstractmethod
    def list_postmortems(
        self, prediction_id: str | None = None, limit: int = 100
    ) -> list[PostMortem]:
        """Newest first; only those linked to `prediction_id` when given."""

    @abstractmethod
    def update_postmortem(
        self,
        postmortem_id: str,
        at: datetime,
        title: str | None = None,
        summary: str | None = None,
        whys: list[dict[str, str]] | None = None,
    ) -> PostMortem: ...

    @abstractmethod
    def add_timeline_entry(self, entry: TimelineEntry) -> None: ...

    @abstractmethod
    def add_action(self, action: ActionPoint) -> None: ...

    @abstractmethod
    def update_action(
        self,
        postmortem_id: str,
        action_id: str,
        at: datetime,
        status: ActionStatus | None = None,
        owner: str | None = None,
        text: str | None = None,
    ) -> ActionPoint: ...
    # -- API keys ------------------------------------------------------------
    @abstractmethod
    def add_api_key(self, key: ApiKey) -> None: ...

    @abstractmethod
    def list_api_keys(self) -> list[ApiKey]:
        """Every key, revoked ones too, oldest first."""

    @abstractmethod
    def api_keys_with_prefix(self, prefix: str) -> list[ApiKey]:
        """The keys whose display prefix is `prefix` (normally one): verification
        then compares hashes in constant time rather than trusting an index lookup."""

    @abstractmethod
    def revoke_api_key(self, key_id: str, at: datetime) -> ApiKey:
        """Mark a key revoked (NotFound for an unknown id; a revoked key stays revoked
        at its first revocation time)."""

    @abstractmethod
    def touch_api_key(self, key_id: str, at: datetime) -> None:
        """Record when a key was last used (callers throttle this)."""

    # -- drift references and logged features (monitoring) ------------------
    @abstractmethod
    def put_drift_reference(self, reference: StoredReference) -> None:
        """Store a version's drift reference, replacing any it had."""

    @abstractmethod
    def get_drift_reference(self, model: str, version: str) -> StoredReference | None: ...

    @abstractmethod
    def list_drift_references(self, model: str | None = None) -> list[StoredReference]:
        """What references exist (payloads left empty)."""

    @abstractmethod
    def logged_features(self, where: PredictionFilter, names: Sequence[str]) -> LoggedFeatures:
        """The features `names` of the newest `where.limit` predictions `where` selects
        (by model, version and time), as a matrix, with their labels, confidences and
        routes; rows in no particular order."""

    @abstractmethod
    def compact_feature_blocks(self) -> Compaction:
        """Merge the small blocks logged features are kept in (one per write batch)
        into big ones, so a long drift window stays a few rows to read."""

    # -- review claims -------------------------------------------------------
    @abstractmethod
    def claim_reviews(
        self, reviewer: str, count: int, now: datetime, until: datetime
    ) -> list[tuple[ReviewItem, Prediction]]:
        """Give `reviewer` a batch of pending items held until `until`, oldest first:
        the live claims they already hold (renewed), topped up to `count` with items
        nobody holds at `now` (never claimed, released, or expired).

        Atomic: reviewers claiming at the same moment never get the same item."""

    @abstractmethod
    def release_review(self, review_id: str, reviewer: str, now: datetime) -> ReviewItem:
        """Drop `reviewer`'s claim so anyone may take the item; a no-op when nobody
        holds it. Conflict if it was decided or someone else holds it."""

    @abstractmethod
    def list_free_reviews(
        self, now: datetime, limit: int = 50, offset: int = 0
    ) -> list[tuple[ReviewItem, Prediction]]:
        """Pending items nobody holds at `now`, oldest first: what a reviewer may take."""

    # -- batched writes and the intake ledger ----------------------------------
    @abstractmethod
    def add_predictions(self, entries: Sequence[LogEntry]) -> None:
        """Store many requests' entries in one transaction (see BatchLog.write)."""

    @abstractmethod
    def open_batch_log(self) -> BatchLog:
        """A dedicated writer connection for the group-commit writer."""

    @abstractmethod
    def intake_counts(
        self, since: datetime | None = None, until: datetime | None = None, model: str | None = None
    ) -> dict[str, int]:
        """Prediction requests received in [since, until) by outcome: `received`,
        `answered`, `failed`, and `answered_unlogged` (answered rows whose prediction is
        not in the predictions table: must be 0)."""

    @abstractmethod
    def count_predictions_between(
        self, since: datetime | None = None, until: datetime | None = None, model: str | None = None
    ) -> int:
        """Predictions created in [since, until), counted in the predictions table alone,
        so the ledger can be checked against it independently."""

    @abstractmethod
    def list_prediction_ids(
        self, since: datetime | None = None, until: datetime | None = None, model: str | None = None
    ) -> list[str]:
        """Ids of the predictions created in [since, until): cheap enough for checking
        that a load run's every answer was stored exactly once."""

    @abstractmethod
    def list_intake(
        self, since: datetime | None = None, until: datetime | None = None, limit: int = 1000
    ) -> list[Intake]:
        """Intake rows received in [since, until), oldest first (evidence for alerts)."""
