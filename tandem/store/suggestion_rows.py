"""Suggestion feedback as rows of `suggestion_feedback`: both records share the table,
told apart by its `kind` column, each leaving the other's columns empty. The one place
records become rows and rows records (for the editor's reads and the batch writer)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

from sqlalchemy.engine import RowMapping

from tandem.clock import as_utc
from tandem.domain import SuggestionFeedback, SuggestionOutcome, SuggestionRating
from tandem.store import tables as t

Record = TypeVar("Record", SuggestionRating, SuggestionOutcome)

KINDS: dict[type[SuggestionFeedback], str] = {
    SuggestionRating: "explicit",
    SuggestionOutcome: "implicit",
}
"""The `kind` column's value for each record."""

_COLUMNS = tuple(c.key for c in t.suggestion_feedback.columns)
_FIELDS = {cls: tuple(f.name for f in fields(cls)) for cls in KINDS}


def feedback_row(record: SuggestionFeedback) -> dict[str, Any]:
    """Every column of `record`'s row: its fields, its kind, None for the rest."""
    row: dict[str, Any] = dict.fromkeys(_COLUMNS)
    row.update((name, getattr(record, name)) for name in _FIELDS[type(record)])
    row["kind"] = KINDS[type(record)]
    return row


def feedback_record(cls: type[Record], row: RowMapping) -> Record:
    """The record of class `cls` (whose kind the row must be) a row holds."""
    values = {name: row[name] for name in _FIELDS[cls]}
    values["created_at"] = as_utc(values["created_at"])
    return cls(**values)
