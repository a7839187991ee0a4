"""Request and response shapes of the JSON API (they make /openapi.json)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from tandem.domain import (
    Feedback,
    Label,
    Prediction,
    PredictionFilter,
    ReviewItem,
    ShownLabels,
    SuggestionRating,
    shallow_dict,
)
from tandem.registry.names import MODEL_NAME_PATTERN


def _not_a_number(value: Any) -> Any:
    """A number would be read as Unix seconds (1969 for -795); the schema says ISO 8601."""
    if isinstance(value, int | float):
        raise ValueError("must be an ISO 8601 date-time string such as 2026-03-01T10:00:00Z")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_not_a_number)]
"""A date-time in a request body: an ISO 8601 string, never a number."""

IGNORED = (
    "Ignored: the name of the caller's API key is recorded instead. Kept so that "
    "older clients still work."
)


def ignored_name(description: str = IGNORED) -> Any:
    """A deprecated body field that named who acts: still accepted so that older clients
    work, and ignored (the caller's key name is recorded)."""
    return Field(default=None, max_length=200, deprecated=True, description=description)


DRAFT_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(pattern=MODEL_NAME_PATTERN, description="A served model's name.")
    input: dict[str, Any] = Field(
        description="The model's input; its shape is the model's input schema.",
    )
    draft: str | None = Field(
        default=None,
        pattern=DRAFT_PATTERN,
        description="A writer's draft this input is a revision of (any id the client "
        "chooses, 1-64 letters, digits, '-' or '_'): each prediction with the same draft "
        "is its next revision, and the suggestions of the previous one are judged "
        "followed or ignored. The answer then carries `highlights` when the model "
        "offers them.",
    )


class SuggestionTypical(BaseModel):
    low: float
    high: float


class SuggestionFix(BaseModel):
    field: str = Field(description="The input field the change is made in.")
    value: str = Field(description="That field with the change made.")


class SuggestionItem(BaseModel):
    id: str = Field(description="The kind of advice, the same for every input.")
    feature: str | None = Field(description="The feature it is about (null: none named).")
    text: str
    value: float | None = Field(description="The feature's value for this input.")
    typical: SuggestionTypical | None = Field(
        description="What good inputs typically have (the middle half of the good class)."
    )
    advice: Literal["increase", "decrease"] | None = Field(
        description="Which way the suggestion moves the feature."
    )
    fix: SuggestionFix | None = Field(description="The change made, where it is mechanical.")


class HighlightItem(BaseModel):
    field: str
    start: int = Field(description="Character offset in the field where it starts.")
    end: int = Field(description="Character offset just after it.")
    text: str
    delta: float = Field(description="How much the score rises without it.")
    reason: str


class Alternative(BaseModel):
    label: str
    probability: float


class ExplanationItem(BaseModel):
    feature: str
    value: float
    contribution: float = Field(description="Pull towards the predicted label (log-odds).")


class LabelOut(BaseModel):
    id: str
    prediction_id: str
    label: str
    source: Literal["adjudication", "review", "import", "feedback"]
    source_id: str
    author: str | None = Field(description="The name of the key that gave it.")
    role: str | None = Field(default=None, description="That key's role.")
    created_at: datetime


class LabelRow(BaseModel):
    prediction_id: str
    created_at: str = Field(description="When the prediction was made (ISO 8601).")
    model: str
    model_version: str
    input: dict[str, Any]
    features: dict[str, float]
    predicted_label: str = Field(
        description="The model's label; `final_label` is the one that counts."
    )
    confidence: float
    final_label: str = Field(
        description="The label that counts: adjudication > review > import > feedback; "
        "then the latest."
    )
    label_source: str
    label_author: str | None = Field(description="The name of the key that gave it.")
    label_role: str | None = Field(description="That key's role.")
    labelled_at: str = Field(description="When the final label was given (ISO 8601).")
    disagreements: int = Field(
        description="Labels kept beside the final one that name another label."
    )
    holdout: bool = Field(description="Sampled for the live test set (sent to review).")


class LabelPage(BaseModel):
    items: list[LabelRow]
    next: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")


class PredictionOut(BaseModel):
    id: str
    created_at: datetime
    model: str
    model_version: str
    input: dict[str, Any]
    features: dict[str, float] = Field(
        description="The features the model computed from the input."
    )
    label: str
    confidence: float = Field(description="The model's probability of `label`.")
    alternatives: list[Alternative]
    explanation: list[ExplanationItem]
    suggestions: list[SuggestionItem]
    route: Literal["model", "review", "fallback"]
    latency_ms: float = Field(description="Time spent computing the prediction.")
    holdout: bool = Field(description="Sampled for the live test set (sent to review).")
    fallback_reason: str | None = Field(
        description="Why the fallback answered (route 'fallback'): timeout, busy, error: <type>."
    )

    @classmethod
    def of(cls, p: Prediction) -> PredictionOut:
        return cls.model_validate(shallow_dict(p))


class PredictionDetail(PredictionOut):
    final_label: LabelOut | None = Field(
        default=None,
        description="The label that counts (adjudication > review > import > feedback; "
        "then the latest), with its source, author and role; null before any.",
    )
    disagreements: list[LabelOut] = Field(
        default_factory=list,
        description="Labels kept beside the final one that name another label.",
    )
    labels_hidden: bool = Field(
        default=False,
        description="True while a second opinion on this prediction is pending: its "
        "labels are hidden from reviewers (not admins) so the second is given blind.",
    )

    @classmethod
    def of(cls, p: Prediction, shown: ShownLabels | None = None) -> PredictionDetail:
        shown = shown or ShownLabels()
        return cls.model_validate(
            {
                **shallow_dict(p),
                "final_label": asdict(shown.final) if shown.final else None,
                "disagreements": [asdict(d) for d in shown.disagreements],
                "labels_hidden": shown.hidden,
            }
        )


class PredictResponse(PredictionOut):
    unusual_features: list[str] = Field(
        default_factory=list,
        description="Features outside the version's training range (0.1-99.9 % quantiles "
        "of its reference, widened by a margin): the prediction went to review, reason "
        "'unusual_input', whatever its confidence. Not kept with the logged prediction.",
    )
    highlights: list[HighlightItem] = Field(
        default_factory=list,
        description="For a draft: the parts of the input that pull the score down, "
        "largest first, each with its reason (models that offer them).",
    )
    draft: str | None = Field(default=None, description="The draft, as sent.")
    revision: int | None = Field(
        default=None, description="Which revision of the draft this is: 1, 2, ..."
    )
    review_id: str | None = Field(description="The review item, when routed to review.")


class ReviewOut(BaseModel):
    id: str
    prediction_id: str
    status: Literal["pending", "decided"]
    reason: str
    created_at: datetime
    decided_at: datetime | None
    reviewer: str | None
    label: str | None
    comment: str | None
    claimed_by: str | None = Field(
        default=None, description="The reviewer working on this item, while the claim holds."
    )
    claim_expires_at: datetime | None = Field(
        default=None, description="When the claim lapses and anyone may take the item."
    )
    model: str | None = Field(default=None, description="The prediction's model.")
    predicted_label: str | None = Field(
        default=None, description="The label the model gave (`label` is the reviewer's)."
    )
    confidence: float | None = Field(default=None, description="The model's confidence.")
    prediction: PredictionOut | None = None
    answers: list[LabelOut] = Field(
        default_factory=list,
        description="On an adjudication (reason 'adjudication'): the two reviewers' "
        "labels it settles. Empty otherwise: a second opinion shows no earlier answer.",
    )

    @classmethod
    def of(
        cls,
        r: ReviewItem,
        p: Prediction | None = None,
        answers: list[Label] | None = None,
        blind: bool = False,
    ) -> ReviewOut:
        """`blind`: the decision is hidden (label, reviewer, comment), for a caller who
        may yet give the second opinion on it."""
        data = asdict(r)
        if blind:
            data.update(label=None, reviewer=None, comment=None)
        return cls(
            **data,
            prediction=PredictionOut.of(p) if p else None,
            answers=[LabelOut(**asdict(a)) for a in answers or []],
        )


class ReviewQuery(BaseModel):
    """The filters and sort of GET /v1/reviews: the fields of review.queue.QueueAsk."""

    status: Literal["pending", "decided"] | None = None
    model: str | None = Field(default=None, max_length=100)
    reason: str | None = Field(default=None, max_length=32)
    label: str | None = Field(
        default=None, max_length=100, description="The model's predicted label."
    )
    sort: Literal["oldest", "least_confident", "priority"] = "oldest"
    older_than: str | None = Field(
        default=None, max_length=32, description="Age in seconds, or like 30m, 2h, 7d."
    )
    newer_than: str | None = Field(default=None, max_length=32)


class ReviewPage(BaseModel):
    items: list[ReviewOut]
    total: int = Field(description="Items matching the filters (all pages).")
    limit: int
    offset: int
    sort: str = Field(default="oldest", description="oldest, least_confident or priority.")
    next_cursor: str | None = Field(
        default=None,
        description="Pass as `cursor` for the next page (same filters and sort); "
        "null on the last page.",
    )
    total_capped: bool = Field(
        default=False,
        description="True when an age filter's total was counted only up to 10,000: "
        "`total` then reads as 10,000+.",
    )
    counts: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description="Items per model, reason and predicted label, each under the other "
        "filters (not the age filter).",
    )


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    label: str = Field(min_length=1, max_length=100)
    reviewer: str | None = ignored_name()
    comment: str | None = Field(default=None, max_length=5000)


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Literal["correct", "incorrect", "bug", "suggestion"]
    label: str | None = Field(default=None, min_length=1, max_length=100)
    comment: str | None = Field(default=None, max_length=5000)
    suggestion: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="kind 'suggestion': the id of a suggestion the prediction gave.",
    )
    helpful: bool | None = Field(
        default=None, description="kind 'suggestion': whether the suggestion helped."
    )


class FeedbackOut(BaseModel):
    id: str
    prediction_id: str
    kind: str
    label: str | None
    comment: str | None
    created_at: datetime
    stored_label: LabelOut | None
    suggestion: str | None = Field(default=None, description="kind 'suggestion' only.")
    helpful: bool | None = Field(default=None, description="kind 'suggestion' only.")

    @classmethod
    def of(cls, f: Feedback, label: Label | None) -> FeedbackOut:
        return cls(**asdict(f), stored_label=LabelOut(**asdict(label)) if label else None)

    @classmethod
    def rating(cls, r: SuggestionRating) -> FeedbackOut:
        return cls(
            id=r.id,
            prediction_id=r.prediction_id,
            kind="suggestion",
            label=None,
            comment=r.comment,
            created_at=r.created_at,
            stored_label=None,
            suggestion=r.suggestion,
            helpful=r.helpful,
        )


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


class ReplayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str | None = Field(
        default=None, min_length=1, description="Default: the logged version."
    )


class ReplayFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(pattern=MODEL_NAME_PATTERN, description="A model's name.")
    version: str = Field(min_length=1)
    since: IsoDateTime | None = None
    until: IsoDateTime | None = None
    route: Literal["model", "review", "fallback"] | None = None
    label: str | None = None
    limit: int = Field(default=1000, ge=1, le=100_000)

    def where(self) -> PredictionFilter:
        """The logged predictions to re-score (of any version; `version` re-scores them)."""
        return PredictionFilter(**self.model_dump(exclude={"version"}))


class PromoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1)
    approver: str | None = ignored_name()
    comment: str | None = Field(default=None, max_length=5000)


class RollbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    actor: str | None = ignored_name()
    comment: str | None = Field(default=None, max_length=5000)


class ShadowRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str | None = Field(description="The candidate to shadow; null turns shadow off.")
    actor: str | None = ignored_name()


class CardEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    editor: str | None = ignored_name()
    sections: dict[str, str] = Field(description="Card sections to replace, by key.")


class ClaimRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reviewer: str | None = ignored_name(
        "Ignored: the claim is recorded under the caller's key name."
    )
    count: int = Field(
        default=1,
        ge=1,
        le=100,
        description="Batch size: the items you already hold count towards it.",
    )
    model: str | None = Field(default=None, max_length=100, description="Only this model's items.")
    reason: str | None = Field(
        default=None, max_length=32, description="Only items in the queue for this reason."
    )
    label: str | None = Field(
        default=None, max_length=100, description="Only items the model gave this label."
    )
    sort: Literal["oldest", "least_confident", "priority"] = Field(
        default="oldest", description="Which free items come first."
    )


class ClaimResponse(BaseModel):
    reviewer: str
    expires_at: datetime = Field(description="Every returned item is yours until then.")
    items: list[ReviewOut] = Field(description="Oldest first; empty when nothing is free.")


class ReleaseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reviewer: str | None = ignored_name("Ignored: the caller's key name is the reviewer.")
