"""Request and response shapes of the bug triage and post-mortem API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tandem.api.schemas import IsoDateTime, ignored_name
from tandem.domain import shallow_dict
from tandem.incidents import ActionPoint, BugReport, PostMortem, TimelineEntry

BugStatusIn = Literal["new", "triaged", "fixed", "wont-fix"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class BugOut(BaseModel):
    id: str = Field(description="The feedback's id.")
    prediction_id: str
    comment: str | None
    label: str | None = Field(description="The label the reporter gave, if any.")
    created_at: datetime
    status: BugStatusIn
    note: str | None
    updated_by: str | None
    updated_at: datetime | None
    model: str
    model_version: str
    predicted_label: str
    page: str = Field(description="The prediction's page: input, output, explanation.")

    @classmethod
    def of(cls, bug: BugReport) -> BugOut:
        f = bug.feedback
        # The feedback's fields over the report's: `label` is the reporter's; the
        # report's own `label`, the model's, is `predicted_label`.
        return cls.model_validate(
            {
                **shallow_dict(bug),
                **shallow_dict(f),
                "predicted_label": bug.label,
                "page": f"/predictions/{f.prediction_id}",
            }
        )


class BugPage(BaseModel):
    bugs: list[BugOut]
    total: int


class BugStatusRequest(_In):
    status: BugStatusIn
    note: str | None = Field(default=None, max_length=5000)
    actor: str | None = ignored_name()


class TimelineOut(BaseModel):
    id: str
    at: datetime
    text: str
    author: str | None
    created_at: datetime

    @classmethod
    def of(cls, e: TimelineEntry) -> TimelineOut:
        return cls.model_validate(e, from_attributes=True)  # without its postmortem_id


class ActionOut(BaseModel):
    id: str
    text: str
    owner: str
    status: Literal["open", "done"]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, a: ActionPoint) -> ActionOut:
        return cls.model_validate(a, from_attributes=True)  # without its postmortem_id


class Why(_In):
    why: str = Field(default="", max_length=2000)
    because: str = Field(default="", max_length=2000)


class PostMortemOut(BaseModel):
    id: str
    title: str
    created_at: datetime
    updated_at: datetime = Field(description="The latest edit of it, its timeline or its actions.")
    created_by: str | None = Field(description="The name of the key that opened it.")
    summary: str
    whys: list[Why] = Field(description="Up to five why/because pairs.")
    predictions: list[dict[str, Any]] = Field(
        description="Snapshots taken when the post-mortem was opened."
    )
    timeline: list[TimelineOut]
    actions: list[ActionOut]

    @classmethod
    def of(cls, pm: PostMortem) -> PostMortemOut:
        # Field by field, by name: the timeline's and actions' postmortem_id is left out.
        return cls.model_validate(pm, from_attributes=True)


class PostMortemList(BaseModel):
    postmortems: list[PostMortemOut]


class PostMortemRequest(_In):
    title: str = Field(min_length=1, max_length=200)
    prediction_ids: list[str] = Field(min_length=1, max_length=50)
    author: str | None = ignored_name()
    summary: str | None = Field(default=None, max_length=20_000)


class PostMortemEdit(_In):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    summary: str | None = Field(default=None, max_length=20_000)
    whys: list[Why] | None = Field(default=None, max_length=5)


class TimelineRequest(_In):
    text: str = Field(min_length=1, max_length=5000)
    at: IsoDateTime | None = Field(default=None, description="When it happened (default now).")
    author: str | None = ignored_name()


class ActionRequest(_In):
    text: str = Field(min_length=1, max_length=5000)
    owner: str = Field(min_length=1, max_length=200)


class ActionEdit(_In):
    status: Literal["open", "done"] | None = None
    owner: str | None = Field(default=None, min_length=1, max_length=200)
    text: str | None = Field(default=None, min_length=1, max_length=5000)
