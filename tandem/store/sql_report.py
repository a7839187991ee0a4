"""Read-only queries behind the stakeholder report: a few columns over a window,
never whole rows, so a month of traffic stays cheap to summarise."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from tandem.clock import as_utc, maybe_utc
from tandem.domain import Feedback
from tandem.store import tables as t
from tandem.store.report_store import PredictionFacts, ReportReads, ReviewFacts
from tandem.store.sql_base import SqlBase, in_window, of_model


class ReportSql(SqlBase, ReportReads):
    def prediction_facts(
        self, since: datetime | None, until: datetime | None, model: str | None = None
    ) -> PredictionFacts:
        p = t.predictions
        query = (
            sa.select(p.c.created_at, p.c.model, p.c.route, p.c.latency_ms, p.c.holdout)
            .where(*in_window(p.c.created_at, since, until), *of_model(p.c.model, model))
            .order_by(p.c.created_at)
        )
        created_at, models, routes, latency_ms, holdout = self._columns(query)
        return PredictionFacts(
            created_at=[as_utc(at) for at in created_at],
            model=models,
            route=routes,
            latency_ms=[float(ms) for ms in latency_ms],
            holdout=[bool(h) for h in holdout],
        )

    def review_facts(
        self, since: datetime | None, until: datetime | None, model: str | None = None
    ) -> ReviewFacts:
        r, p = t.review_items, t.predictions
        query = (
            sa.select(r.c.created_at, r.c.decided_at, r.c.status, r.c.reviewer, r.c.reason)
            .join(p, p.c.id == r.c.prediction_id)
            .where(*in_window(r.c.created_at, since, until), *of_model(p.c.model, model))
            .order_by(r.c.created_at)
        )
        created_at, decided_at, status, reviewer, reason = self._columns(query)
        return ReviewFacts(
            created_at=[as_utc(at) for at in created_at],
            decided_at=[maybe_utc(at) for at in decided_at],
            status=status,
            reviewer=reviewer,
            reason=reason,
        )

    def _columns(self, query: sa.Select[*tuple[Any, ...]]) -> list[list[Any]]:
        """The query's result column by column (what the facts hold), one list per
        selected column even when no row matched."""
        rows = self._all(query)
        return [[row[i] for row in rows] for i in range(len(query.selected_columns))]

    def feedback_of_kind(
        self, kind: str, since: datetime | None, until: datetime | None, limit: int
    ) -> list[Feedback]:
        f = t.feedback
        query = (
            sa.select(f)
            .where(f.c.kind == kind, *in_window(f.c.created_at, since, until))
            .order_by(f.c.created_at.desc(), f.c.id)
            .limit(limit)
        )
        with self._tx() as conn:
            rows = conn.execute(query).mappings().all()
        return [Feedback(**{**row, "created_at": as_utc(row["created_at"])}) for row in rows]
