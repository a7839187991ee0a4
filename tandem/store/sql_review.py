"""The review queue in SQL: items, claims and decisions, feedback and labels.

A claim or a decision is one UPDATE whose WHERE holds the rule (pending, and free
or held by this reviewer), so of two racing reviewers exactly one changes a row.

The queue is read by "bucket": items of one (status, model, reason, predicted label)
lie in one range of each sort's index, in sort order. A filtered page reads the
buckets the filter matches (listed by the counts table) from just after the cursor,
and merges them: a seek per bucket plus the page's rows, at any depth and queue size."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from tandem.domain import (
    Feedback,
    Label,
    Prediction,
    QueueFilter,
    ReviewItem,
    ReviewSort,
    review_priority,
    review_sort_key,
)
from tandem.errors import Conflict, NotFound
from tandem.ids import new_id
from tandem.store import tables as t
from tandem.store.review_counts import Bucket, adjust, bucket_of, read_counts
from tandem.store.review_queue import ReviewQueue
from tandem.store.sql_base import SqlBase, utc
from tandem.store.sql_log import prediction_of


def _review(row: RowMapping) -> ReviewItem:
    data = dict(row)
    data["created_at"] = utc(data["created_at"])
    data["decided_at"] = utc(data["decided_at"])
    data["claim_expires_at"] = utc(data["claim_expires_at"])
    return ReviewItem(**data)


def _free(now: datetime) -> sa.ColumnElement[bool]:
    """A pending item nobody holds at `now`: never claimed, released, or expired."""
    r = t.review_items
    return sa.and_(
        r.c.status == "pending",
        sa.or_(r.c.claimed_by.is_(None), r.c.claim_expires_at <= now),
    )


def _bucket_filter(where: QueueFilter) -> list[sa.ColumnElement[bool]]:
    """`where` as conditions on the items' own columns."""
    r = t.review_items
    conds = []
    if where.status is not None:
        conds.append(r.c.status == where.status)
    for column, value in (
        (r.c.model, where.model),
        (r.c.reason, where.reason),
        (r.c.predicted_label, where.label),
    ):
        if value is not None:
            conds.append(column == value)
    if where.created_before is not None:
        conds.append(r.c.created_at < where.created_before)
    if where.created_after is not None:
        conds.append(r.c.created_at >= where.created_after)
    return conds


def _held_by(reviewer: str, now: datetime) -> sa.ColumnElement[bool]:
    r = t.review_items
    return sa.and_(r.c.status == "pending", r.c.claimed_by == reviewer, r.c.claim_expires_at > now)


def _claimable(row: RowMapping, reviewer: str, now: datetime) -> bool:
    """The same rule as _free() or _held_by(), for a row already read."""
    until = utc(row["claim_expires_at"])
    return row["claimed_by"] in (None, reviewer) or until is None or until <= now


def _claim_conflict(row: RowMapping) -> Conflict:
    until = utc(row["claim_expires_at"])
    shown = until.strftime("%Y-%m-%dT%H:%M:%SZ") if until else "?"
    return Conflict(
        f"review item {row['id']!r} is claimed by {row['claimed_by']!r} until {shown}; "
        "decide an item you claimed (POST /v1/reviews/claim) or wait until the claim expires"
    )


ARMS_PER_QUERY = 200
"""Buckets merged in one statement (SQLite allows 500 terms in a compound SELECT);
more are read in several statements and merged here."""


def _arm_keys(sort: ReviewSort) -> list[sa.ColumnElement[Any]]:
    """The sort's columns within one bucket (where the reason, hence the priority, is fixed)."""
    r = t.review_items
    return [r.c.created_at, r.c.id] if sort == "oldest" else [r.c.confidence, r.c.id]


def _arm(
    status: str,
    bucket: Bucket,
    sort: ReviewSort,
    where: QueueFilter,
    after: tuple[Any, ...] | None,
    limit: int,
    extra: sa.ColumnElement[bool] | None,
) -> sa.Select[Any] | None:
    """One bucket's rows after `after`, in sort order; None when none can follow it."""
    r = t.review_items
    model, reason, label = bucket
    priority = review_priority(reason)
    conds: list[sa.ColumnElement[bool]] = [
        r.c.status == status,
        r.c.model == model,
        r.c.reason == reason,
        r.c.predicted_label == label,
    ]
    if where.created_before is not None:
        conds.append(r.c.created_at < where.created_before)
    if where.created_after is not None:
        conds.append(r.c.created_at >= where.created_after)
    keys = _arm_keys(sort)
    if after is not None:
        rest = after
        if sort == "priority":
            if priority < after[0]:
                return None
            rest = after[1:] if priority == after[0] else ()
        if rest:
            conds.append(sa.tuple_(*keys) > sa.tuple_(*[sa.literal(v) for v in rest]))
    if extra is not None:
        conds.append(extra)
    query = sa.select(
        r.c.id,
        r.c.created_at,
        r.c.confidence,
        sa.literal_column(str(priority), sa.Integer).label("priority"),
    )
    return query.where(*conds).order_by(*keys).limit(limit)


def _merged_key(sort: ReviewSort, row: Any) -> tuple[Any, ...]:
    if sort == "oldest":
        return (utc(row.created_at), row.id)
    if sort == "least_confident":
        return (row.confidence, row.id)
    return (row.priority, row.confidence, row.id)


class ReviewSql(SqlBase, ReviewQueue):
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
        counts = self.queue_counts().values()
        return sum(
            (p if status in (None, "pending") else 0) + (d if status in (None, "decided") else 0)
            for p, d in counts
        )

    def queue_counts(self) -> dict[Bucket, tuple[int, int]]:
        with self._tx() as conn:
            return read_counts(conn)

    def queue_page(
        self,
        where: QueueFilter,
        sort: ReviewSort,
        limit: int,
        after: tuple[Any, ...] | None = None,
        offset: int = 0,
    ) -> list[tuple[ReviewItem, Prediction]]:
        r = t.review_items
        with self._tx() as conn:
            ids = [row.id for row in self._queue_keys(conn, where, sort, limit, after, offset)]
            if not ids:
                return []
            found = {
                rev.id: (rev, p) for rev, p in self._reviews_with_predictions(conn, r.c.id.in_(ids))
            }
        return [found[i] for i in ids if i in found]

    def count_capped(self, where: QueueFilter, cap: int) -> int:
        with self._tx() as conn:
            total = 0
            for arms in self._arm_groups(conn, where, "oldest", None, cap + 1, None):
                ids = [sa.select(a.subquery().c.id) for a in arms]
                union = sa.union_all(*ids) if len(ids) > 1 else ids[0]
                counted = sa.select(sa.func.count()).select_from(
                    sa.select(union.subquery().c.id).limit(cap + 1 - total).subquery()
                )
                total += int(conn.execute(counted).scalar_one())
                if total > cap:
                    break
        return min(total, cap + 1)

    def _buckets(self, conn: Connection, where: QueueFilter) -> list[tuple[str, Bucket]]:
        """The (status, bucket) pairs that hold items matching `where`, by the counts."""
        out = []
        for bucket, (pending, decided) in sorted(read_counts(conn).items()):
            if not where.matches(*bucket):
                continue
            if pending > 0 and where.status in (None, "pending"):
                out.append(("pending", bucket))
            if decided > 0 and where.status in (None, "decided"):
                out.append(("decided", bucket))
        return out

    def _arm_groups(
        self,
        conn: Connection,
        where: QueueFilter,
        sort: ReviewSort,
        after: tuple[Any, ...] | None,
        limit: int,
        extra: sa.ColumnElement[bool] | None,
    ) -> Iterator[list[sa.Select[Any]]]:
        arms = [
            arm
            for status, bucket in self._buckets(conn, where)
            if (arm := _arm(status, bucket, sort, where, after, limit, extra)) is not None
        ]
        for start in range(0, len(arms), ARMS_PER_QUERY):
            yield arms[start : start + ARMS_PER_QUERY]

    def _queue_keys(
        self,
        conn: Connection,
        where: QueueFilter,
        sort: ReviewSort,
        limit: int,
        after: tuple[Any, ...] | None,
        offset: int = 0,
        extra: sa.ColumnElement[bool] | None = None,
    ) -> list[Any]:
        """Rows (id, created_at, confidence, priority) of the page, in sort order."""
        want = limit + offset
        streams = []
        for arms in self._arm_groups(conn, where, sort, after, want, extra):
            if len(arms) == 1:
                query: Any = arms[0]
            else:
                union = sa.union_all(*[sa.select(a.subquery()) for a in arms]).subquery()
                order = {
                    "oldest": [union.c.created_at, union.c.id],
                    "least_confident": [union.c.confidence, union.c.id],
                    "priority": [union.c.priority, union.c.confidence, union.c.id],
                }[sort]
                query = sa.select(union).order_by(*order).limit(want)
            streams.append(list(conn.execute(query)))
        rows = (
            streams[0]
            if len(streams) == 1
            else heapq.merge(*streams, key=lambda row: _merged_key(sort, row))
        )
        return list(rows)[offset:want] if streams else []

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
                check(prediction_of(prediction))
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
            adjust(conn, bucket_of(item), -1, 1)
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
        return [Feedback(**{**row, "created_at": utc(row["created_at"])}) for row in rows]

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
            pred = prediction_of({c.name: row[c.name] for c in p.columns})  # type: ignore[arg-type]
            data = {c.name: row[f"l_{c.name}"] for c in lab.columns}
            label = Label(**{**data, "created_at": utc(data["created_at"])})
            latest[pred.id] = (pred, label)
        return list(latest.values())

    def list_labels(self, prediction_id: str | None = None) -> list[Label]:
        query = sa.select(t.labels).order_by(t.labels.c.created_at, t.labels.c.id)
        if prediction_id is not None:
            query = query.where(t.labels.c.prediction_id == prediction_id)
        with self._tx() as conn:
            rows = conn.execute(query).mappings().all()
        return [Label(**{**row, "created_at": utc(row["created_at"])}) for row in rows]

    # -- review claims -------------------------------------------------------
    def claim_reviews(
        self,
        reviewer: str,
        count: int,
        now: datetime,
        until: datetime,
        where: QueueFilter | None = None,
        sort: ReviewSort = "oldest",
    ) -> list[tuple[ReviewItem, Prediction]]:
        r = t.review_items
        where = QueueFilter(
            "pending",
            *(() if where is None else (where.model, where.reason, where.label)),
            *(() if where is None else (where.created_before, where.created_after)),
        )
        mine = sa.and_(_held_by(reviewer, now), *_bucket_filter(where))
        postgres = self.engine.dialect.name == "postgresql"
        with self._tx() as conn:
            # The first write takes SQLite's one write lock for the whole transaction;
            # on PostgreSQL each UPDATE locks only the rows it changes.
            ids = list(
                conn.execute(
                    r.update().where(mine).values(claim_expires_at=until).returning(r.c.id)
                ).scalars()
            )
            after: tuple[Any, ...] | None = None
            while len(ids) < count:
                wanted = count - len(ids)
                # Candidates by the queue's merge of buckets, then taken with _free()
                # again in the UPDATE: an item someone took meanwhile is not taken over.
                window = wanted if not postgres else wanted + 16
                rows = self._queue_keys(conn, where, sort, window, after, extra=_free(now))
                if not rows:
                    break
                after = _merged_key(sort, rows[-1])
                picked = [row.id for row in rows]
                if postgres:
                    # Rows another claimer has locked are skipped, not waited for: 50
                    # reviewers claiming at once each get different items at once.
                    lock = (
                        sa.select(r.c.id)
                        .where(r.c.id.in_(picked), _free(now))
                        .with_for_update(skip_locked=True)
                    )
                    free = set(conn.execute(lock).scalars())
                    picked = [i for i in picked if i in free][:wanted]
                if picked:
                    ids += conn.execute(
                        r.update()
                        .where(r.c.id.in_(picked), _free(now))
                        .values(claimed_by=reviewer, claim_expires_at=until)
                        .returning(r.c.id)
                    ).scalars()
                if len(rows) < window:
                    break
            if not ids:
                return []
            found = {
                rev.id: (rev, p) for rev, p in self._reviews_with_predictions(conn, r.c.id.in_(ids))
            }
        return sorted(found.values(), key=lambda pair: review_sort_key(pair[0], sort))

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
            pred = prediction_of({c.name: row[f"p_{c.name}"] for c in p.columns})  # type: ignore[arg-type]
            out.append((review, pred))
        return out
