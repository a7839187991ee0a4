"""Read-only queries behind the stakeholder report: a few columns over a window,
never whole rows, so a month of traffic stays cheap to summarise."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from tandem.domain import Feedback
from tandem.store import tables as t
from tandem.store.report_store import PredictionFacts, ReportReads, ReviewFacts
from tandem.store.sql_base import SqlBase, in_window
from tandem.store.sql_base import utc as _utc


class ReportSql(SqlBase, ReportReads):
    def prediction_facts(
        self, since: datetime | None, until: datetime | None, model: str | None = None
    ) -> PredictionFacts:
        p = t.predictions
        query = sa.select(p.c.created_at, p.c.model, p.c.route, p.c.latency_ms, p.c.holdout)
        query = query.where(*in_window(p.c.created_at, since, until)).order_by(p.c.created_at)
        if model is not None:
            query = query.where(p.c.model == model)
        with self._tx() as conn:
            rows = conn.execute(query).all()
        return PredictionFacts(
            created_at=[_utc(r[0]) for r in rows],  # type: ignore[misc]
            model=[r[1] for r in rows],
            route=[r[2] for r in rows],
            latency_ms=[float(r[3]) for r in rows],
            holdout=[bool(r[4]) for r in rows],
        )

    def review_facts(
        self, since: datetime | None, until: datetime | None, model: str | None = None
    ) -> ReviewFacts:
        r, p = t.review_items, t.predictions
        query = (
            sa.select(r.c.created_at, r.c.decided_at, r.c.status, r.c.reviewer, r.c.reason)
            .join(p, p.c.id == r.c.prediction_id)
            .where(*in_window(r.c.created_at, since, until))
            .order_by(r.c.created_at)
        )
        if model is not None:
            query = query.where(p.c.model == model)
        with self._tx() as conn:
            rows = conn.execute(query).all()
        return ReviewFacts(
            created_at=[_utc(row[0]) for row in rows],  # type: ignore[misc]
            decided_at=[_utc(row[1]) for row in rows],
            status=[row[2] for row in rows],
            reviewer=[row[3] for row in rows],
            reason=[row[4] for row in rows],
        )

    def feedback_of_kind(
        self,
        kind: str,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 20,
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
        return [Feedback(**{**row, "created_at": _utc(row["created_at"])}) for row in rows]
