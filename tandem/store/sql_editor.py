"""Writers' drafts and suggestion feedback in SQL (the revisions themselves and the
outcomes inferred from them are written with their predictions, in sql_batch)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from tandem.domain import (
    DraftRevision,
    Prediction,
    SuggestionOutcome,
    SuggestionRating,
    suggestion_dict,
)
from tandem.store import tables as t
from tandem.store.editor_store import EditorStore, ShownRevision, SuggestionFeedbackFilter
from tandem.store.sql_base import SqlBase, in_window, of_model, utc
from tandem.store.sql_log import prediction_of
from tandem.store.suggestion_rows import KINDS, Record, feedback_record, feedback_row


def _revision(row: RowMapping) -> DraftRevision:
    data = {c.name: row[c.name] for c in t.draft_revisions.columns}
    data["created_at"] = utc(data["created_at"])
    return DraftRevision(**data)


class EditorSql(SqlBase, EditorStore):
    def latest_revision(self, draft: str) -> tuple[DraftRevision, Prediction] | None:
        d, p = t.draft_revisions, t.predictions
        query = (
            sa.select(d, *[c.label(f"p_{c.name}") for c in p.columns])
            .join(p, p.c.id == d.c.prediction_id)
            .where(d.c.draft == draft)
            .order_by(d.c.revision.desc())
            .limit(1)
        )
        with self._tx() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        prediction = prediction_of({c.name: row[f"p_{c.name}"] for c in p.columns})  # type: ignore[arg-type]
        return _revision(row), prediction

    def add_suggestion_rating(self, rating: SuggestionRating) -> None:
        with self._tx() as conn:
            conn.execute(t.suggestion_feedback.insert(), [feedback_row(rating)])

    def list_suggestion_ratings(self, where: SuggestionFeedbackFilter) -> list[SuggestionRating]:
        return self._feedback(SuggestionRating, where)

    def list_suggestion_outcomes(self, where: SuggestionFeedbackFilter) -> list[SuggestionOutcome]:
        return self._feedback(SuggestionOutcome, where)

    def _feedback(self, cls: type[Record], where: SuggestionFeedbackFilter) -> list[Record]:
        f = t.suggestion_feedback
        query = sa.select(f).where(f.c.kind == KINDS[cls]).order_by(f.c.created_at, f.c.id)
        if where.prediction_id is not None:
            query = query.where(f.c.prediction_id == where.prediction_id)
        query = query.where(
            *of_model(f.c.model, where.model), *in_window(f.c.created_at, where.since, where.until)
        )
        with self._tx() as conn:
            return [feedback_record(cls, r) for r in conn.execute(query).mappings()]

    def shown_revisions(
        self, model: str, since: datetime | None = None, until: datetime | None = None
    ) -> list[ShownRevision]:
        d, p = t.draft_revisions, t.predictions
        query = (
            sa.select(d, p.c.suggestions.label("p_suggestions"))
            .join(p, p.c.id == d.c.prediction_id)
            .where(d.c.model == model, *in_window(d.c.created_at, since, until))
            .order_by(d.c.draft, d.c.revision)
        )
        with self._tx() as conn:
            rows = conn.execute(query).mappings().all()
        return [ShownRevision(_revision(r), _shown(r["p_suggestions"])) for r in rows]


def _shown(raw: Any) -> list[dict[str, Any]]:
    return [suggestion_dict(s) for s in raw or []]
