"""SQLAlchemy implementation of the store, for SQLite and PostgreSQL alike.

Core statements rather than the ORM: the prediction insert is on every request's
critical path, and Core skips the unit-of-work bookkeeping (NOTES.md: ~110 µs per
logged prediction)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import OperationalError

from tandem.domain import (
    ApiKey,
    Feedback,
    Intake,
    Label,
    Prediction,
    ReviewItem,
    StoredReference,
    shallow_dict,
)
from tandem.errors import Conflict, NotFound, StoreUnavailable
from tandem.ids import new_id
from tandem.store import sql_drift
from tandem.store import tables as t
from tandem.store.base import BatchLog, LogEntry, LoggedFeatures, PredictionFilter
from tandem.store.feature_blocks import Compaction
from tandem.store.sql_base import utc as _utc
from tandem.store.sql_batch import SqlBatchLog, write_entries
from tandem.store.sql_monitor import MonitorSql
from tandem.store.sql_registry import RegistrySql
from tandem.store.sql_report import ReportSql
from tandem.store.sql_triage import TriageSql


def _prediction(row: RowMapping) -> Prediction:
    data = dict(row)
    data.pop("feature_layout", None)  # storage detail for drift (sql_drift)
    data.pop("feature_values", None)
    data["created_at"] = _utc(data["created_at"])
    return Prediction(**data)


def _review(row: RowMapping) -> ReviewItem:
    data = dict(row)
    data["created_at"] = _utc(data["created_at"])
    data["decided_at"] = _utc(data["decided_at"])
    data["claim_expires_at"] = _utc(data["claim_expires_at"])
    return ReviewItem(**data)


def _api_key(row: RowMapping) -> ApiKey:
    data = dict(row)
    for column in ("created_at", "revoked_at", "last_used_at"):
        data[column] = _utc(data[column])
    return ApiKey(**data)


def _free(now: datetime) -> sa.ColumnElement[bool]:
    """A pending item nobody holds at `now`: never claimed, released, or expired."""
    r = t.review_items
    return sa.and_(
        r.c.status == "pending",
        sa.or_(r.c.claimed_by.is_(None), r.c.claim_expires_at <= now),
    )


def _held_by(reviewer: str, now: datetime) -> sa.ColumnElement[bool]:
    r = t.review_items
    return sa.and_(r.c.status == "pending", r.c.claimed_by == reviewer, r.c.claim_expires_at > now)


def _claimable(row: RowMapping, reviewer: str, now: datetime) -> bool:
    """The same rule as _free() or _held_by(), for a row already read."""
    until = _utc(row["claim_expires_at"])
    return row["claimed_by"] in (None, reviewer) or until is None or until <= now


def _claim_conflict(row: RowMapping) -> Conflict:
    until = _utc(row["claim_expires_at"])
    shown = until.strftime("%Y-%m-%dT%H:%M:%SZ") if until else "?"
    return Conflict(
        f"review item {row['id']!r} is claimed by {row['claimed_by']!r} until {shown}; "
        "decide an item you claimed (POST /v1/reviews/claim) or wait until the claim expires"
    )


class SqlStore(TriageSql, MonitorSql, ReportSql, RegistrySql):
    """Predictions, the review queue, feedback and labels (model versions: RegistrySql;
    concern metrics and alerts: MonitorSql; bug triage and post-mortems: TriageSql;
    the stakeholder report's queries: ReportSql)."""

    # -- predictions -------------------------------------------------------
    def add_prediction(self, prediction: Prediction, review: ReviewItem | None = None) -> None:
        self.add_predictions([LogEntry(prediction, review)])

    def get_prediction(self, prediction_id: str) -> Prediction:
        with self._tx() as conn:
            row = (
                conn.execute(sa.select(t.predictions).where(t.predictions.c.id == prediction_id))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound(f"no prediction with id {prediction_id!r}")
        return _prediction(row)

    def list_predictions(self, where: PredictionFilter) -> list[Prediction]:
        p = t.predictions
        query = sa.select(p).order_by(p.c.created_at, p.c.id).limit(where.limit)
        conditions = {
            p.c.model: where.model,
            p.c.route: where.route,
            p.c.label: where.label,
            p.c.model_version: where.version,
            p.c.holdout: where.holdout,
        }
        for column, value in conditions.items():
            if value is not None:
                query = query.where(column == value)
        if where.since is not None:
            query = query.where(p.c.created_at >= where.since)
        if where.until is not None:
            query = query.where(p.c.created_at < where.until)
        with self._tx() as conn:
            rows = conn.execute(query).mappings().all()
        return [_prediction(row) for row in rows]

    def prediction_stats(
        self, latency_buckets_ms: tuple[float, ...]
    ) -> list[tuple[str, str, str | None, int, list[int], float]]:
        p = t.predictions
        buckets = [
            sa.func.sum(sa.case((p.c.latency_ms <= b, 1), else_=0)) for b in latency_buckets_ms
        ]
        query = sa.select(
            p.c.model,
            p.c.route,
            p.c.fallback_reason,
            sa.func.count(),
            sa.func.sum(p.c.latency_ms),
            *buckets,
        ).group_by(p.c.model, p.c.route, p.c.fallback_reason)
        with self._tx() as conn:
            rows = conn.execute(query).all()
        return [
            (r[0], r[1], r[2], int(r[3]), [int(x or 0) for x in r[5:]], float(r[4] or 0.0))
            for r in rows
        ]

    def count_predictions(self, model: str | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(t.predictions)
        if model is not None:
            query = query.where(t.predictions.c.model == model)
        with self._tx() as conn:
            return int(conn.execute(query).scalar_one())

    # -- review queue --------------------------------------------------------
    def get_review(self, review_id: str) -> ReviewItem:
        with self._tx() as conn:
            row = (
                conn.execute(sa.select(t.review_items).where(t.review_items.c.id == review_id))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound(f"no review item with id {review_id!r}")
        return _review(row)

    def list_reviews(
        self, status: str | None, limit: int = 50, offset: int = 0
    ) -> list[tuple[ReviewItem, Prediction]]:
        r = t.review_items
        where = sa.true() if status is None else r.c.status == status
        with self._tx() as conn:
            return self._reviews_with_predictions(conn, where, limit, offset)

    def count_reviews(self, status: str | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(t.review_items)
        if status is not None:
            query = query.where(t.review_items.c.status == status)
        with self._tx() as conn:
            return int(conn.execute(query).scalar_one())

    def decide_review(
        self,
        review_id: str,
        label: str,
        reviewer: str,
        comment: str | None,
        at: datetime,
        check: Callable[[Prediction], None] | None = None,
    ) -> ReviewItem:
        r, p = t.review_items, t.predictions
        with self._tx() as conn:
            if check is not None:
                prediction = (
                    conn.execute(
                        sa.select(p).join(r, r.c.prediction_id == p.c.id).where(r.c.id == review_id)
                    )
                    .mappings()
                    .first()
                )
                if prediction is None:
                    raise NotFound(f"no review item with id {review_id!r}")
                check(_prediction(prediction))
            # The status and claim checks live in the UPDATE itself, so of two racing
            # decisions exactly one changes a row. An item nobody holds may be decided
            # by anyone (claims are optional); a held one only by its holder.
            result = conn.execute(
                r.update()
                .where(
                    r.c.id == review_id,
                    sa.or_(_free(at), _held_by(reviewer, at)),
                )
                .values(
                    status="decided",
                    decided_at=at,
                    reviewer=reviewer,
                    label=label,
                    comment=comment,
                    claimed_by=None,
                    claim_expires_at=None,
                )
            )
            row = conn.execute(sa.select(r).where(r.c.id == review_id)).mappings().first()
            if row is None:
                raise NotFound(f"no review item with id {review_id!r}")
            if result.rowcount == 0:
                if row["status"] == "pending":
                    raise _claim_conflict(row)
                raise Conflict(
                    f"review item {review_id!r} was already decided by {row['reviewer']!r}"
                )
            item = _review(row)
            conn.execute(
                t.labels.insert(),
                {
                    "id": new_id(),
                    "prediction_id": item.prediction_id,
                    "label": label,
                    "source": "review",
                    "source_id": item.id,
                    "author": reviewer,
                    "created_at": at,
                },
            )
        return item

    # -- feedback and labels -------------------------------------------------
    def add_feedback(self, item: Feedback, label: Label | None) -> None:
        with self._tx() as conn:
            exists = conn.execute(
                sa.select(t.predictions.c.id).where(t.predictions.c.id == item.prediction_id)
            ).first()
            if exists is None:
                raise NotFound(f"no prediction with id {item.prediction_id!r}")
            conn.execute(t.feedback.insert(), asdict(item))
            if label is not None:
                conn.execute(t.labels.insert(), asdict(label))

    def list_feedback(self, prediction_id: str) -> list[Feedback]:
        query = (
            sa.select(t.feedback)
            .where(t.feedback.c.prediction_id == prediction_id)
            .order_by(t.feedback.c.created_at)
        )
        with self._tx() as conn:
            rows = conn.execute(query).mappings().all()
        return [Feedback(**{**row, "created_at": _utc(row["created_at"])}) for row in rows]

    def labelled_predictions(self, model: str) -> list[tuple[Prediction, Label]]:
        p, lab = t.predictions, t.labels
        query = (
            sa.select(p, *[c.label(f"l_{c.name}") for c in lab.columns])
            .join(lab, lab.c.prediction_id == p.c.id)
            .where(p.c.model == model)
            .order_by(lab.c.created_at, lab.c.id)
        )
        with self._tx() as conn:
            rows = conn.execute(query).mappings().all()
        latest: dict[str, tuple[Prediction, Label]] = {}
        for row in rows:  # ordered by time: a later label replaces an earlier one
            pred = _prediction({c.name: row[c.name] for c in p.columns})  # type: ignore[arg-type]
            data = {c.name: row[f"l_{c.name}"] for c in lab.columns}
            label = Label(**{**data, "created_at": _utc(data["created_at"])})
            latest[pred.id] = (pred, label)
        return list(latest.values())

    def list_labels(self, prediction_id: str | None = None) -> list[Label]:
        query = sa.select(t.labels).order_by(t.labels.c.created_at, t.labels.c.id)
        if prediction_id is not None:
            query = query.where(t.labels.c.prediction_id == prediction_id)
        with self._tx() as conn:
            rows = conn.execute(query).mappings().all()
        return [Label(**{**row, "created_at": _utc(row["created_at"])}) for row in rows]

    # -- API keys ------------------------------------------------------------
    def add_api_key(self, key: ApiKey) -> None:
        with self._tx() as conn:
            conn.execute(t.api_keys.insert(), shallow_dict(key))

    def list_api_keys(self) -> list[ApiKey]:
        k = t.api_keys
        with self._tx() as conn:
            rows = conn.execute(sa.select(k).order_by(k.c.created_at, k.c.id)).mappings().all()
        return [_api_key(row) for row in rows]

    def api_keys_with_prefix(self, prefix: str) -> list[ApiKey]:
        k = t.api_keys
        with self._tx() as conn:
            rows = conn.execute(sa.select(k).where(k.c.prefix == prefix)).mappings().all()
        return [_api_key(row) for row in rows]

    def revoke_api_key(self, key_id: str, at: datetime) -> ApiKey:
        k = t.api_keys
        with self._tx() as conn:
            conn.execute(
                k.update().where(k.c.id == key_id, k.c.revoked_at.is_(None)).values(revoked_at=at)
            )
            row = conn.execute(sa.select(k).where(k.c.id == key_id)).mappings().first()
        if row is None:
            raise NotFound(f"no API key with id {key_id!r}")
        return _api_key(row)

    def touch_api_key(self, key_id: str, at: datetime) -> None:
        k = t.api_keys
        with self._tx() as conn:
            conn.execute(k.update().where(k.c.id == key_id).values(last_used_at=at))

    # -- drift references and logged features (monitoring) ------------------
    def put_drift_reference(self, reference: StoredReference) -> None:
        with self._tx() as conn:
            sql_drift.put_reference(conn, reference)

    def get_drift_reference(self, model: str, version: str) -> StoredReference | None:
        with self._tx() as conn:
            return sql_drift.get_reference(conn, model, version)

    def list_drift_references(self, model: str | None = None) -> list[StoredReference]:
        with self._tx() as conn:
            return sql_drift.list_references(conn, model)

    def logged_features(self, where: PredictionFilter, names: Sequence[str]) -> LoggedFeatures:
        with self._tx() as conn:
            return sql_drift.logged_features(conn, where, names)

    def compact_feature_blocks(self) -> Compaction:
        try:
            return sql_drift.compact(self.engine)
        except OperationalError as exc:
            raise StoreUnavailable(f"the store is unavailable: {exc.orig}") from exc

    # -- review claims -------------------------------------------------------
    def claim_reviews(
        self, reviewer: str, count: int, now: datetime, until: datetime
    ) -> list[tuple[ReviewItem, Prediction]]:
        r = t.review_items
        postgres = self.engine.dialect.name == "postgresql"
        with self._tx() as conn:
            # The first write takes SQLite's one write lock for the whole transaction;
            # on PostgreSQL each UPDATE locks only the rows it changes.
            ids = list(
                conn.execute(
                    r.update()
                    .where(_held_by(reviewer, now))
                    .values(claim_expires_at=until)
                    .returning(r.c.id)
                ).scalars()
            )
            wanted = count - len(ids)
            if wanted > 0:
                oldest = sa.select(r.c.id).where(_free(now))
                oldest = oldest.order_by(r.c.created_at, r.c.id).limit(wanted)
                if postgres:
                    # Rows another claimer has locked are skipped, not waited for: 50
                    # reviewers claiming at once each get different items at once.
                    picked = list(conn.execute(oldest.with_for_update(skip_locked=True)).scalars())
                    target = r.c.id.in_(picked)
                else:
                    target = r.c.id.in_(oldest.scalar_subquery())
                # _free() again in the UPDATE itself: whatever the isolation level, an
                # item someone else took in the meantime is not taken over.
                ids += conn.execute(
                    r.update()
                    .where(target, _free(now))
                    .values(claimed_by=reviewer, claim_expires_at=until)
                    .returning(r.c.id)
                ).scalars()
            if not ids:
                return []
            rows = self._reviews_with_predictions(conn, r.c.id.in_(ids))
        return rows

    def release_review(self, review_id: str, reviewer: str, now: datetime) -> ReviewItem:
        r = t.review_items
        with self._tx() as conn:
            conn.execute(
                r.update()
                .where(r.c.id == review_id, _held_by(reviewer, now))
                .values(claimed_by=None, claim_expires_at=None)
            )
            row = conn.execute(sa.select(r).where(r.c.id == review_id)).mappings().first()
            if row is None:
                raise NotFound(f"no review item with id {review_id!r}")
            if row["status"] != "pending":
                raise Conflict(f"review item {review_id!r} was already decided; nothing to release")
            if not _claimable(row, reviewer, now):
                raise _claim_conflict(row)
        return _review(row)

    def list_free_reviews(
        self, now: datetime, limit: int = 50, offset: int = 0
    ) -> list[tuple[ReviewItem, Prediction]]:
        with self._tx() as conn:
            return self._reviews_with_predictions(conn, _free(now), limit, offset)

    def _reviews_with_predictions(
        self,
        conn: Connection,
        where: sa.ColumnElement[bool],
        limit: int | None = None,
        offset: int = 0,
    ) -> list[tuple[ReviewItem, Prediction]]:
        r, p = t.review_items, t.predictions
        query = (
            sa.select(r, *[c.label(f"p_{c.name}") for c in p.columns])
            .join(p, p.c.id == r.c.prediction_id)
            .where(where)
            .order_by(r.c.created_at, r.c.id)
            .limit(limit)
            .offset(offset)
        )
        out = []
        for row in conn.execute(query).mappings():
            review = _review({c.name: row[c.name] for c in r.columns})  # type: ignore[arg-type]
            pred = _prediction({c.name: row[f"p_{c.name}"] for c in p.columns})  # type: ignore[arg-type]
            out.append((review, pred))
        return out

    # -- batched writes and the intake ledger ----------------------------------
    def add_predictions(self, entries: Sequence[LogEntry]) -> None:
        with self._tx() as conn:
            write_entries(conn, entries)

    def open_batch_log(self) -> BatchLog:
        return SqlBatchLog(self.engine)

    def intake_counts(
        self, since: datetime | None = None, until: datetime | None = None, model: str | None = None
    ) -> dict[str, int]:
        i, p = t.intake, t.predictions
        answered = i.c.outcome == "answered"
        query = sa.select(
            sa.func.count(),
            sa.func.sum(sa.case((answered, 1), else_=0)),
            sa.func.sum(sa.case((i.c.outcome == "failed", 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(answered, p.c.id.is_(None)), 1), else_=0)),
        ).select_from(i.outerjoin(p, p.c.id == i.c.prediction_id))
        query = _window(query, i.c.received_at, i.c.model, since, until, model)
        with self._tx() as conn:
            row = conn.execute(query).one()
        received, ok, failed, unlogged = (int(v or 0) for v in row)
        return {
            "received": received,
            "answered": ok,
            "failed": failed,
            "answered_unlogged": unlogged,
        }

    def count_predictions_between(
        self, since: datetime | None = None, until: datetime | None = None, model: str | None = None
    ) -> int:
        p = t.predictions
        count = sa.select(sa.func.count()).select_from(p)
        query = _window(count, p.c.created_at, p.c.model, since, until, model)
        with self._tx() as conn:
            return int(conn.execute(query).scalar_one())

    def list_prediction_ids(
        self, since: datetime | None = None, until: datetime | None = None, model: str | None = None
    ) -> list[str]:
        p = t.predictions
        query = _window(sa.select(p.c.id), p.c.created_at, p.c.model, since, until, model)
        with self._tx() as conn:
            return list(conn.execute(query).scalars())

    def list_intake(
        self, since: datetime | None = None, until: datetime | None = None, limit: int = 1000
    ) -> list[Intake]:
        i = t.intake
        query = sa.select(i).order_by(i.c.received_at, i.c.id).limit(limit)
        query = _window(query, i.c.received_at, i.c.model, since, until, None)
        with self._tx() as conn:
            rows = conn.execute(query).mappings().all()
        return [Intake(**{**row, "received_at": _utc(row["received_at"])}) for row in rows]


Q = TypeVar("Q", bound=sa.Select[*tuple[Any, ...]])


def _window(
    query: Q,
    at: sa.ColumnElement[Any],
    model_column: sa.ColumnElement[Any],
    since: datetime | None,
    until: datetime | None,
    model: str | None,
) -> Q:
    """`query` restricted to [since, until) on `at` and to one model."""
    if since is not None:
        query = query.where(at >= since)
    if until is not None:
        query = query.where(at < until)
    if model is not None:
        query = query.where(model_column == model)
    return query
