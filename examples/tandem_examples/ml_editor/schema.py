"""The ML Editor's input: what a client sends in `"input"`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=300, description="The question's title.")
    body: str = Field(
        min_length=1,
        max_length=50_000,
        description="The question's body: plain text, Markdown or HTML.",
    )
