"""Plain domain types. The store maps rows to these at its edge; nothing above
the store sees a SQLAlchemy row."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Literal

Route = Literal["model", "review", "fallback"]
ReviewStatus = Literal["pending", "decided"]
FeedbackKind = Literal["correct", "incorrect", "bug", "suggestion"]
LabelSource = Literal["adjudication", "review", "import", "feedback"]
ModelStatus = Literal["candidate", "production", "retired"]


def shallow_dict(obj: Any) -> dict[str, Any]:
    """A frozen dataclass's fields as a dict without `asdict`'s deep copy (~6 µs
    instead of ~180 µs for a prediction; safe because the objects are frozen)."""
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


@dataclass(frozen=True, slots=True)
class Contribution:
    feature: str
    value: float
    contribution: float


@dataclass(frozen=True, slots=True)
class Suggestion:
    """Advice for the person who wrote the input, grounded in one feature: its `value`
    here, what good inputs `typical`ly have ({"low", "high"}), and which way to move it
    (`advice`: "increase" or "decrease"). `id` names the kind of advice, the same for
    every input (feedback and the report count by it). `fix`, when the change is
    mechanical: {"field": an input field, "value": that field with the change made}."""

    id: str
    feature: str | None
    text: str
    value: float | None = None
    typical: dict[str, float] | None = None
    advice: Literal["increase", "decrease"] | None = None
    fix: dict[str, str] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The stored and answered shape: every field, in declaration order."""
        return shallow_dict(self)


LEGACY_SUGGESTION = "note"
"""The id of a suggestion stored as plain text (before suggestions were objects)."""


def suggestion_dict(item: Suggestion | str | dict[str, Any]) -> dict[str, Any]:
    """A suggestion as stored and answered: plain text (an older row, or a model that
    still returns strings) becomes an object with no feature behind it."""
    if isinstance(item, Suggestion):
        return item.as_dict()
    if isinstance(item, str):
        return Suggestion(LEGACY_SUGGESTION, None, item).as_dict()
    return {**Suggestion(str(item.get("id", LEGACY_SUGGESTION)), None, "").as_dict(), **item}


@dataclass(frozen=True, slots=True)
class Highlight:
    """A stretch of an input field that pulls the score down: `field`'s characters
    [start, end), how much the score of the editor's label rises without it (`delta`),
    and why, in words."""

    field: str
    start: int
    end: int
    text: str
    delta: float
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """The stored and answered shape: every field, in declaration order."""
        return shallow_dict(self)


@dataclass(frozen=True, slots=True)
class Prediction:
    id: str
    created_at: datetime
    model: str
    model_version: str
    input: dict[str, Any]
    features: dict[str, float]
    label: str
    confidence: float
    alternatives: list[dict[str, Any]]
    explanation: list[dict[str, Any]]
    suggestions: list[dict[str, Any]]
    """Suggestion.as_dict() each."""
    route: Route
    latency_ms: float
    holdout: bool = False
    fallback_reason: str | None = None
    unusual_features: list[str] = field(default_factory=list)
    """Features outside the version's training ranges (review reason `unusual_input`);
    known when answering, not stored."""
    highlights: list[dict[str, Any]] = field(default_factory=list)
    """Highlight.as_dict() each, for a draft of a model that offers them; not stored."""
    draft: str | None = None
    revision: int | None = None
    """The writer's draft this scores, and which re-score of it (1, 2, ...); stored in
    draft_revisions, not with the prediction."""


@dataclass(frozen=True, slots=True)
class ReviewItem:
    id: str
    prediction_id: str
    status: ReviewStatus
    created_at: datetime
    reason: str
    """Why the item is in the queue, one of REVIEW_REASONS; a follow-up's reason (see
    FOLLOW_UP_REASONS) says how it checks the decided item `follows` names."""
    decided_at: datetime | None = None
    reviewer: str | None = None
    label: str | None = None
    comment: str | None = None
    """The decision, None while pending: when, by whom (their key's name), the label
    the reviewer gave (the model's is `predicted_label`) and their note, if any."""
    claimed_by: str | None = None
    claim_expires_at: datetime | None = None
    """A claim: `claimed_by` works on this item until `claim_expires_at`; after that
    (or once released) anyone may take it. Decided items hold no claim."""
    model: str = ""
    predicted_label: str = ""
    confidence: float = 0.0
    """The prediction's model, label and confidence, copied onto the item (the store
    fills them from the prediction written with it) so the queue filters by them."""
    claimed_at: datetime | None = None
    """When the present claim began; kept on a decided item held by its decider."""
    follows: str | None = None
    """A second opinion's or an adjudication's decided item it checks."""
    blind_to: str | None = None
    """The reviewer who gave the first answer: they may not take a second opinion."""


ReviewSort = Literal["oldest", "least_confident", "priority"]
REVIEW_SORTS: tuple[ReviewSort, ...] = ("oldest", "least_confident", "priority")
REVIEW_REASONS = (
    "adjudication",
    "unusual_input",
    "fallback",
    "holdout",
    "second_opinion",
    "low_confidence",
)
"""Why an item is in the queue, most urgent first: the `priority` sort's order."""


FOLLOW_UP_REASONS = ("second_opinion", "adjudication")
"""Items that check a decided item: they never ask for a second opinion of their own."""


def review_priority(reason: str) -> int:
    """0 is most urgent; a reason outside REVIEW_REASONS comes last."""
    try:
        return REVIEW_REASONS.index(reason)
    except ValueError:
        return len(REVIEW_REASONS)


def review_sort_key(item: ReviewItem, sort: ReviewSort) -> tuple[Any, ...]:
    """Where `item` stands in the queue sorted by `sort`; ids break ties."""
    if sort == "oldest":
        return (item.created_at, item.id)
    if sort == "least_confident":
        return (item.confidence, item.id)
    return (review_priority(item.reason), item.confidence, item.id)


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """Which review items a list or a claim looks at; None matches anything."""

    status: ReviewStatus | None = "pending"
    model: str | None = None
    reason: str | None = None
    label: str | None = None
    """The model's predicted label (not the label a reviewer gave)."""
    created_before: datetime | None = None
    created_after: datetime | None = None

    def matches(self, model: str, reason: str, label: str) -> bool:
        return (
            self.model in (None, model)
            and self.reason in (None, reason)
            and self.label in (None, label)
        )


@dataclass(frozen=True, slots=True)
class PredictionFilter:
    """Which logged predictions to read (for replay, evaluation and monitoring)."""

    model: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    """Created in [since, until); None leaves that end open, as None does any other
    field here (True/False `holdout`: only the live test set's predictions, or none)."""
    route: str | None = None
    label: str | None = None
    version: str | None = None
    holdout: bool | None = None
    limit: int = 1000


@dataclass(frozen=True, slots=True)
class Feedback:
    id: str
    prediction_id: str
    kind: FeedbackKind
    label: str | None
    comment: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DraftRevision:
    """One re-score of a writer's draft: prediction `prediction_id` is its revision
    `revision`, following `previous_id` (None for the first)."""

    prediction_id: str
    draft: str
    revision: int
    model: str
    created_at: datetime
    previous_id: str | None = None
    author: str | None = None
    """The writer's key name; None for a request without a key (the writer's page open
    to anyone: `editor_access` public)."""
    score: float | None = None
    """The probability of the editor's good label (the writer's score)."""


@dataclass(frozen=True, slots=True)
class SuggestionFeedback:
    """What is known of one suggestion given on prediction `prediction_id`: what the
    writer said of it (SuggestionRating) or what they did with it (SuggestionOutcome).
    Two facts, two records; this holds only what both are about."""

    id: str
    prediction_id: str
    suggestion: str
    """The suggestion's id (Suggestion.id): the kind of advice it was."""
    model: str
    created_at: datetime
    author: str | None
    """The writer's key name; None for a writer without a key (the writer's page open
    to anyone: `editor_access` public)."""


@dataclass(frozen=True, slots=True)
class SuggestionRating(SuggestionFeedback):
    """A writer's own rating of the suggestion (explicit feedback): the one kind a
    person gave, so the one shown back as feedback; it implies no label."""

    helpful: bool
    comment: str | None
    role: str | None
    """The rating key's role; None without a key."""


@dataclass(frozen=True, slots=True)
class SuggestionOutcome(SuggestionFeedback):
    """What the writer did with the suggestion, inferred from the draft's next
    revision (implicit feedback): nobody said it, so the usefulness report counts it
    but it is never shown as feedback."""

    draft: str
    next_prediction_id: str
    """The draft's next revision, whose input is compared with this one's."""
    followed: bool
    """Whether the feature moved the way the suggestion advised."""
    score_change: float | None
    """The editor's score of the next revision minus this one's; None for a model that
    gives no score."""


@dataclass(frozen=True, slots=True)
class Label:
    """A human-given label: the one table evaluation and retraining read. `author` is
    the name of the key that gave it (None: feedback from before keys were recorded),
    `role` that key's role."""

    id: str
    prediction_id: str
    label: str
    source: LabelSource
    source_id: str
    author: str | None
    created_at: datetime
    role: str | None = None


LABEL_PRECEDENCE: tuple[LabelSource, ...] = ("adjudication", "review", "import", "feedback")
"""Which label of a prediction is final, strongest first. A person's decision
(adjudication, review) or an imported label is never overwritten by feedback; within
feedback an authenticated one beats an anonymous one; otherwise the latest wins."""


def label_rank(label: Label) -> tuple[int, int, datetime, str]:
    """Sort key: the greatest is the final label (see LABEL_PRECEDENCE)."""
    source = len(LABEL_PRECEDENCE) - LABEL_PRECEDENCE.index(label.source)
    return (source, label.author is not None, label.created_at, label.id)


def final_label(labels: list[Label]) -> Label | None:
    """The label that counts, by LABEL_PRECEDENCE; None when there is none."""
    return max(labels, key=label_rank, default=None)


def disagreements(labels: list[Label]) -> list[Label]:
    """The labels kept beside the final one that name another label."""
    final = final_label(labels)
    return [lab for lab in labels if final is not None and lab.label != final.label]


@dataclass(frozen=True, slots=True)
class ShownLabels:
    """A prediction's labels as one caller may see them. While a second opinion on it
    is pending they are `hidden` from everyone but admins, so that the second is given
    blind: no labels, no final one."""

    labels: list[Label] = field(default_factory=list)
    final: Label | None = None
    disagreements: list[Label] = field(default_factory=list)
    hidden: bool = False


@dataclass(frozen=True, slots=True)
class ModelVersion:
    name: str
    version: str
    created_at: datetime
    status: ModelStatus
    artifact_sha256: str
    data_hash: str
    metrics: dict[str, Any] = field(default_factory=dict)
    shadow: bool = False
    card: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ShadowResult:
    """A shadow version's answer to a live request: logged, never returned."""

    id: str
    prediction_id: str
    model: str
    model_version: str
    created_at: datetime
    label: str | None
    confidence: float | None
    alternatives: list[dict[str, Any]]
    latency_ms: float
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ModelEvent:
    """An audit record: who changed what a model serves, and on what evidence."""

    id: str
    model: str
    action: Literal["promote", "rollback", "shadow_on", "shadow_off", "card_edit", "register"]
    version: str
    previous_version: str | None
    actor: str
    comment: str | None
    evidence: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Guidelines:
    """One edit of a model's guidelines for reviewers (Markdown); a model's latest edit
    is what reviewers are shown, the earlier ones stay as its history."""

    id: str
    model: str
    markdown: str
    edited_by: str
    edited_at: datetime


Role = Literal["client", "reviewer", "admin"]


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored API key: never the key itself, only its SHA-256 and a display prefix."""

    id: str
    name: str
    role: Role
    key_hash: str
    prefix: str
    """The key's first characters: listings show them, and a request's key is looked up
    by them before its hash is compared."""
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PageSession:
    """A browser's login, opened with an API key: the store keeps the SHA-256 of the
    cookie's token, never the token or the key."""

    id: str
    token_hash: str
    key_id: str
    created_at: datetime
    expires_at: datetime
    """A fixed end, set when the session opens: using the session does not extend it
    (`last_seen_at` only records use)."""
    revoked_at: datetime | None = None
    last_seen_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class StoredReference:
    """A version's drift reference as the store keeps it: what it is, and its arrays
    compressed (see `tandem.monitor.reference`). Listings leave `payload` empty."""

    model: str
    version: str
    created_at: datetime
    rows: int
    total_rows: int
    source: str
    feature_names: list[str]
    categorical: list[str]
    payload: bytes = b""


IntakeOutcome = Literal["answered", "failed"]


@dataclass(frozen=True, slots=True)
class Intake:
    """One prediction request as received: the ledger "nothing lost" is checked against.

    An answered request's row is stored with its prediction, in one transaction, so
    one never exists without the other; a failed one records why it was refused."""

    id: str
    received_at: datetime
    model: str | None  # None when the body could not be read far enough to name one
    outcome: IntakeOutcome
    status_code: int
    prediction_id: str | None = None
    error_code: str | None = None
    message: str | None = None
