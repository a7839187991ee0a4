"""Bug triage and post-mortems in SQL."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from tandem.domain import Feedback
from tandem.errors import NotFound
from tandem.incidents import (
    ActionChanges,
    ActionPoint,
    BugReport,
    BugStatus,
    PostMortem,
    PostMortemChanges,
    TimelineEntry,
)
from tandem.store import tables as t
from tandem.store.sql_base import SqlBase, utc
from tandem.store.triage_store import TriageStore


def _given(changes: ActionChanges | PostMortemChanges) -> dict[str, Any]:
    """The columns an edit sets: its fields that are not None."""
    return {k: v for k, v in asdict(changes).items() if v is not None}


def _bug(row: RowMapping) -> BugReport:
    f = t.feedback
    feedback = Feedback(**{c.name: row[f"f_{c.name}"] for c in f.columns})
    feedback = Feedback(**{**asdict(feedback), "created_at": utc(feedback.created_at)})
    return BugReport(
        feedback=feedback,
        status=row["status"] or "new",
        model=row["model"],
        model_version=row["model_version"],
        label=row["label"],
        note=row["note"],
        updated_by=row["updated_by"],
        updated_at=utc(row["updated_at"]),
    )


def _entry(row: RowMapping) -> TimelineEntry:
    return TimelineEntry(**{**row, "at": utc(row["at"]), "created_at": utc(row["created_at"])})


def _action(row: RowMapping) -> ActionPoint:
    return ActionPoint(
        **{**row, "created_at": utc(row["created_at"]), "updated_at": utc(row["updated_at"])}
    )


class TriageSql(SqlBase, TriageStore):
    # -- bug triage -------------------------------------------------------------
    @staticmethod
    def _bugs_query(status: BugStatus | None) -> sa.Select[Any]:
        f, b, p = t.feedback, t.bug_triage, t.predictions
        query = (
            sa.select(
                *[c.label(f"f_{c.name}") for c in f.columns],
                b.c.status,
                b.c.note,
                b.c.updated_by,
                b.c.updated_at,
                p.c.model,
                p.c.model_version,
                p.c.label,
            )
            .join(p, p.c.id == f.c.prediction_id)
            .outerjoin(b, b.c.feedback_id == f.c.id)
            .where(f.c.kind == "bug")
        )
        if status == "new":
            query = query.where(sa.or_(b.c.status.is_(None), b.c.status == "new"))
        elif status is not None:
            query = query.where(b.c.status == status)
        return query

    def list_bugs(
        self, status: BugStatus | None = None, limit: int = 100, offset: int = 0
    ) -> list[BugReport]:
        f = t.feedback
        query = (
            self._bugs_query(status)
            .order_by(f.c.created_at.desc(), f.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        with self._tx() as conn:
            rows = conn.execute(query).mappings().all()
        return [_bug(row) for row in rows]

    def count_bugs(self, status: BugStatus | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(self._bugs_query(status).subquery())
        with self._tx() as conn:
            return int(conn.execute(query).scalar_one())

    def set_bug_status(
        self, feedback_id: str, status: BugStatus, actor: str | None, note: str | None, at: datetime
    ) -> BugReport:
        b = t.bug_triage
        values = {"status": status, "note": note, "updated_by": actor, "updated_at": at}
        with self._tx() as conn:
            kind = conn.execute(
                sa.select(t.feedback.c.kind).where(t.feedback.c.id == feedback_id)
            ).scalar()
            if kind != "bug":
                raise NotFound(f"no bug report with id {feedback_id!r}")
            updated = conn.execute(b.update().where(b.c.feedback_id == feedback_id).values(values))
            if updated.rowcount == 0:
                conn.execute(b.insert(), {"feedback_id": feedback_id, **values})
            row = (
                conn.execute(self._bugs_query(None).where(t.feedback.c.id == feedback_id))
                .mappings()
                .one()
            )
        return _bug(row)

    # -- post-mortems -----------------------------------------------------------
    def add_postmortem(self, record: PostMortem) -> None:
        head = {
            k: v
            for k, v in asdict(record).items()
            if k not in ("predictions", "timeline", "actions")
        }
        with self._tx() as conn:
            conn.execute(t.postmortems.insert(), head)
            if record.predictions:
                conn.execute(
                    t.postmortem_predictions.insert(),
                    [
                        {
                            "postmortem_id": record.id,
                            "prediction_id": snap["id"],
                            "position": i,
                            "snapshot": snap,
                        }
                        for i, snap in enumerate(record.predictions)
                    ],
                )
            if record.timeline:
                conn.execute(t.postmortem_timeline.insert(), [asdict(e) for e in record.timeline])
            if record.actions:
                conn.execute(t.postmortem_actions.insert(), [asdict(a) for a in record.actions])

    def _records(self, conn: Connection, rows: list[RowMapping]) -> list[PostMortem]:
        ids = [row["id"] for row in rows]
        snaps: dict[str, list[dict[str, Any]]] = defaultdict(list)
        timeline: dict[str, list[TimelineEntry]] = defaultdict(list)
        actions: dict[str, list[ActionPoint]] = defaultdict(list)
        pp, tl, ac = t.postmortem_predictions, t.postmortem_timeline, t.postmortem_actions
        if ids:
            for r in conn.execute(
                sa.select(pp).where(pp.c.postmortem_id.in_(ids)).order_by(pp.c.position)
            ).mappings():
                snaps[r["postmortem_id"]].append(r["snapshot"])
            for r in conn.execute(
                sa.select(tl).where(tl.c.postmortem_id.in_(ids)).order_by(tl.c.at, tl.c.created_at)
            ).mappings():
                timeline[r["postmortem_id"]].append(_entry(r))
            for r in conn.execute(
                sa.select(ac).where(ac.c.postmortem_id.in_(ids)).order_by(ac.c.created_at, ac.c.id)
            ).mappings():
                actions[r["postmortem_id"]].append(_action(r))
        return [
            PostMortem(
                **{
                    **row,
                    "created_at": utc(row["created_at"]),
                    "updated_at": utc(row["updated_at"]),
                    "predictions": snaps[row["id"]],
                    "timeline": timeline[row["id"]],
                    "actions": actions[row["id"]],
                }
            )
            for row in rows
        ]

    def get_postmortem(self, postmortem_id: str) -> PostMortem:
        pm = t.postmortems
        with self._tx() as conn:
            row = conn.execute(sa.select(pm).where(pm.c.id == postmortem_id)).mappings().first()
            if row is None:
                raise NotFound(f"no post-mortem with id {postmortem_id!r}")
            return self._records(conn, [row])[0]

    def list_postmortems(
        self, prediction_id: str | None = None, limit: int = 100
    ) -> list[PostMortem]:
        pm, pp = t.postmortems, t.postmortem_predictions
        query = sa.select(pm).order_by(pm.c.created_at.desc(), pm.c.id).limit(limit)
        if prediction_id is not None:
            linked = sa.select(pp.c.postmortem_id).where(pp.c.prediction_id == prediction_id)
            query = query.where(pm.c.id.in_(linked))
        with self._tx() as conn:
            rows = list(conn.execute(query).mappings().all())
            return self._records(conn, rows)

    def _touch(self, conn: Connection, postmortem_id: str, at: datetime) -> None:
        """Bump updated_at; NotFound (not a foreign-key Conflict) for an unknown id."""
        pm = t.postmortems
        done = conn.execute(pm.update().where(pm.c.id == postmortem_id).values(updated_at=at))
        if done.rowcount == 0:
            raise NotFound(f"no post-mortem with id {postmortem_id!r}")

    def update_postmortem(
        self, postmortem_id: str, at: datetime, changes: PostMortemChanges
    ) -> PostMortem:
        values = _given(changes)
        with self._tx() as conn:
            self._touch(conn, postmortem_id, at)
            if values:
                conn.execute(
                    t.postmortems.update().where(t.postmortems.c.id == postmortem_id).values(values)
                )
        return self.get_postmortem(postmortem_id)

    def add_timeline_entry(self, entry: TimelineEntry) -> None:
        with self._tx() as conn:
            self._touch(conn, entry.postmortem_id, entry.created_at)
            conn.execute(t.postmortem_timeline.insert(), asdict(entry))

    def add_action(self, action: ActionPoint) -> None:
        with self._tx() as conn:
            self._touch(conn, action.postmortem_id, action.created_at)
            conn.execute(t.postmortem_actions.insert(), asdict(action))

    def update_action(
        self, postmortem_id: str, action_id: str, at: datetime, changes: ActionChanges
    ) -> ActionPoint:
        ac = t.postmortem_actions
        where = (ac.c.id == action_id, ac.c.postmortem_id == postmortem_id)
        with self._tx() as conn:
            done = conn.execute(ac.update().where(*where).values(updated_at=at, **_given(changes)))
            if done.rowcount == 0:
                raise NotFound(f"post-mortem {postmortem_id!r} has no action {action_id!r}")
            self._touch(conn, postmortem_id, at)
            row = conn.execute(sa.select(ac).where(*where)).mappings().one()
        return _action(row)
