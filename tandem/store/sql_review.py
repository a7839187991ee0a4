"""The review queue in SQL: items, claims and decisions, feedback and labels.

A claim or a decision is one UPDATE whose WHERE holds the rule (pending, and free
or held by this reviewer), so of two racing reviewers exactly one changes a row.

The queue is read by "bucket": items of one (status, model, reason, predicted label)
lie in one range of each sort's index, in sort order. A filtered page reads the
buckets the filter matches (listed by the counts table) from just after the cursor,
and merges them: a seek per bucket plus the page's rows, at any depth and queue size."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from tandem.clock import as_utc
from tandem.domain import (
    FOLLOW_UP_REASONS,
    REVIEW_REASONS,
    Feedback,
    Label,
    Prediction,
    QueueFilter,
    ReviewItem,
    ReviewSort,
    final_label,
    review_priority,
    review_sort_key,
)
from tandem.errors import Conflict, NotFound
from tandem.ids import new_id
from tandem.store import sql_queue
from tandem.store import tables as t
from tandem.store.review_counts import Bucket, adjust, bucket_of, read_counts
from tandem.store.review_queue import (
    ClaimRequest,
    Decision,
    DecisionTime,
    DoubleReview,
    LabelledPageQuery,
    PageQuery,
    ReviewQueue,
)
from tandem.store.sql_base import SqlBase, in_window, of_model, row_by_id, utc
from tandem.store.sql_log import prediction_of

_UNDECIDED: dict[str, Any] = {
    "status": "pending",
    "decided_at": None,
    "reviewer": None,
    "label": None,
    "comment": None,
}
"""An item's decision fields while nobody has decided it."""


def _review(row: RowMapping) -> ReviewItem:
    data = dict(row)
    data["created_at"] = utc(data["created_at"])
    data["decided_at"] = utc(data["decided_at"])
    data["claim_expires_at"] = utc(data["claim_expires_at"])
    return ReviewItem(**data)


def _label_of(row: RowMapping, prefix: str = "") -> Label:
    data = {c.name: row[f"{prefix}{c.name}"] for c in t.labels.columns}
    return Label(**{**data, "created_at": utc(data["created_at"])})


def _free(now: datetime, by_id: bool = False) -> sa.ColumnElement[bool]:
    """A pending item nobody holds at `now`: never claimed, released, or expired.
    `by_id`: a check on rows found by their ids (see _unindexed)."""
    r = t.review_items
    return sa.and_(
        (_unindexed(r.c.status) if by_id else r.c.status) == "pending",
        sa.or_(r.c.claimed_by.is_(None), r.c.claim_expires_at <= now),
    )


def _order(sort: ReviewSort) -> list[sa.ColumnElement[Any]]:
    """ORDER BY of the queue in `sort` order (domain.review_sort_key)."""
    r = t.review_items
    if sort == "oldest":
        return [r.c.created_at, r.c.id]
    if sort == "least_confident":
        return [r.c.confidence, r.c.id]
    urgency = sa.case(
        {reason: review_priority(reason) for reason in REVIEW_REASONS},
        value=r.c.reason,
        else_=len(REVIEW_REASONS),
    )
    return [urgency, r.c.confidence, r.c.id]


def _unindexed(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The column's value, hidden from the planner (`column || ''`): for a check on
    rows found by another index. Given `status = ?` beside `id IN (...)` or
    `claimed_by = ?`, SQLite (without statistics) chose the status index and read
    every pending item: 50-80 ms a claim at 100,000 pending."""
    return column.concat("")


def _bucket_filter(where: QueueFilter) -> list[sa.ColumnElement[bool]]:
    """`where` as checks on rows found by another index (the id, the claims index)."""
    r = t.review_items
    conds = []
    if where.status is not None:
        conds.append(_unindexed(r.c.status) == where.status)
    for column, value in (
        (r.c.model, where.model),
        (r.c.reason, where.reason),
        (r.c.predicted_label, where.label),
    ):
        if value is not None:
            conds.append(_unindexed(column) == value)
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


def _check_undoable(row: RowMapping, reviewer: str, now: datetime, since: datetime) -> None:
    review_id = row["id"]
    if row["status"] != "decided":
        raise Conflict(f"review item {review_id!r} is not decided: there is no decision to undo")
    if row["reviewer"] != reviewer:
        raise Conflict(
            f"review item {review_id!r} was decided by {row['reviewer']!r}, not {reviewer!r}: "
            "only the reviewer who made a decision may undo it"
        )
    decided_at = utc(row["decided_at"])
    if decided_at is None or decided_at < since:
        window = (now - since).total_seconds()
        shown = decided_at.strftime("%H:%M:%SZ") if decided_at else "?"
        raise Conflict(
            f"review item {review_id!r} was decided at {shown}, more than {window:g} s ago: "
            f"a decision can be undone only within {window:g} s of making it"
        )


class ReviewSql(SqlBase, ReviewQueue):
    # -- review queue --------------------------------------------------------
    def get_review(self, review_id: str) -> ReviewItem:
        with self._tx() as conn:
            return _review(row_by_id(conn, t.review_items, review_id, "review item"))

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

    def queue_page(self, query: PageQuery) -> list[tuple[ReviewItem, Prediction]]:
        r, where = t.review_items, query.where
        with self._tx() as conn:
            buckets = self._buckets(conn, where)
            keys = sql_queue.queue_keys(
                conn, buckets, where, query.sort, query.limit, query.after, query.offset
            )
            ids = [row.id for row in keys]
            if not ids:
                return []
            found = {
                rev.id: (rev, p) for rev, p in self._reviews_with_predictions(conn, r.c.id.in_(ids))
            }
        return [found[i] for i in ids if i in found]

    def count_capped(self, where: QueueFilter, cap: int) -> int:
        with self._tx() as conn:
            return sql_queue.count_capped(conn, self._buckets(conn, where), where, cap)

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

    def decide_review(
        self, decision: Decision, check: Callable[[Prediction], None] | None = None
    ) -> ReviewItem:
        r, p = t.review_items, t.predictions
        review_id, reviewer, at = decision.review_id, decision.reviewer, decision.at
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
                    label=decision.label,
                    comment=decision.comment,
                    # Kept only when the decider's own claim held it: the start of
                    # the time they spent on it (seconds per decision).
                    claimed_at=sa.case((_held_by(reviewer, at), r.c.claimed_at), else_=None),
                    claimed_by=None,
                    claim_expires_at=None,
                )
            )
            row = row_by_id(conn, r, review_id, "review item")
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
                    "label": decision.label,
                    "source": decision.source,
                    "source_id": item.id,
                    "author": reviewer,
                    "role": decision.role,
                    "created_at": at,
                },
            )
            self._follow_up(conn, item, decision.second_opinion)
        return item

    def _follow_up(self, conn: Connection, item: ReviewItem, second_opinion: bool) -> None:
        """The item a decision calls for, if any: a second opinion blind to its
        reviewer, or an adjudication when a second opinion disagrees with the first."""
        r = t.review_items
        follow: ReviewItem | None = None
        if item.reason == "second_opinion" and item.follows is not None:
            first = conn.execute(sa.select(r.c.label).where(r.c.id == item.follows)).scalar()
            if first is not None and first != item.label:
                follow = replace(item, reason="adjudication", blind_to=None)
        elif second_opinion and item.reason not in FOLLOW_UP_REASONS:
            follow = replace(item, reason="second_opinion", blind_to=item.reviewer)
        if follow is None:
            return
        # Written at the prediction's time, like every item of it: the queue's age and
        # the review ledger's window read the item's created_at.
        follow = replace(
            follow,
            **_UNDECIDED,
            id=new_id(),
            claimed_by=None,
            claim_expires_at=None,
            claimed_at=None,
            follows=item.id,
        )
        conn.execute(r.insert(), asdict(follow))
        # A second counter after the decided item's: always a later stage (first round,
        # then second_opinion, then adjudication), and the batch writer touches only
        # first-round counters, so no two transactions take them in opposite orders.
        adjust(conn, bucket_of(follow), 1, 0)

    def second_opinion_pending(self, prediction_ids: list[str]) -> set[str]:
        r = t.review_items
        found: set[str] = set()
        with self._tx() as conn:
            for start in range(0, len(prediction_ids), 500):
                chunk = prediction_ids[start : start + 500]
                found.update(
                    conn.execute(
                        sa.select(r.c.prediction_id).where(
                            r.c.prediction_id.in_(chunk),
                            _unindexed(r.c.reason) == "second_opinion",
                            _unindexed(r.c.status) == "pending",
                        )
                    ).scalars()
                )
        return found

    def double_reviews(
        self, model: str | None, since: datetime | None, until: datetime | None
    ) -> list[DoubleReview]:
        second, first = t.review_items.alias("second"), t.review_items.alias("first")
        query = (
            sa.select(
                second.c.prediction_id,
                second.c.model,
                first.c.reviewer,
                first.c.label,
                second.c.reviewer,
                second.c.label,
                second.c.decided_at,
            )
            .join(first, first.c.id == second.c.follows)
            .where(second.c.reason == "second_opinion", second.c.status == "decided")
            .where(*of_model(second.c.model, model), *in_window(second.c.decided_at, since, until))
            .order_by(second.c.decided_at, second.c.id)
        )
        return [
            DoubleReview(pid, m or "", r1 or "", l1 or "", r2 or "", l2 or "", as_utc(at))
            for pid, m, r1, l1, r2, l2, at in self._all(query)
        ]

    def decision_times(
        self, model: str | None, since: datetime | None, until: datetime | None
    ) -> list[DecisionTime]:
        r = t.review_items
        query = (
            sa.select(r.c.reviewer, r.c.model, r.c.claimed_at, r.c.decided_at)
            .where(r.c.status == "decided", r.c.claimed_at.is_not(None))
            .where(*of_model(r.c.model, model), *in_window(r.c.decided_at, since, until))
            .order_by(r.c.decided_at, r.c.id)
        )
        return [
            DecisionTime(who or "", m or "", as_utc(began), as_utc(done))
            for who, m, began, done in self._all(query)
        ]

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
            .order_by(p.c.created_at, p.c.id)
        )
        with self._tx() as conn:
            rows = conn.execute(query).mappings().all()
        found: dict[str, tuple[Prediction, list[Label]]] = {}
        for row in rows:
            pred = prediction_of({c.name: row[c.name] for c in p.columns})  # type: ignore[arg-type]
            found.setdefault(pred.id, (pred, []))[1].append(_label_of(row, "l_"))
        out = []
        for pred, labels in found.values():
            final = final_label(labels)
            assert final is not None
            out.append((pred, final))
        return out

    def labelled_page(self, page: LabelledPageQuery) -> list[tuple[Prediction, list[Label]]]:
        p, lab = t.predictions, t.labels
        labelled = sa.select(lab.c.id).where(
            lab.c.prediction_id == p.c.id, *in_window(lab.c.created_at, page.since, None)
        )
        query = sa.select(p).where(labelled.exists(), *of_model(p.c.model, page.model))
        if page.after is not None:
            at, last_id = page.after
            query = query.where(
                sa.or_(p.c.created_at > at, sa.and_(p.c.created_at == at, p.c.id > last_id))
            )
        query = query.order_by(p.c.created_at, p.c.id).limit(page.limit)
        with self._tx() as conn:
            preds = [prediction_of(row) for row in conn.execute(query).mappings()]
            ids = [pr.id for pr in preds]
            rows = conn.execute(
                sa.select(lab)
                .where(lab.c.prediction_id.in_(ids))
                .order_by(lab.c.created_at, lab.c.id)
            ).mappings()
            labels: dict[str, list[Label]] = {}
            for row in rows:
                labels.setdefault(row["prediction_id"], []).append(_label_of(row))
        return [(pr, labels.get(pr.id, [])) for pr in preds]

    def add_labels(self, labels: list[Label]) -> None:
        wanted = sorted({lab.prediction_id for lab in labels})
        with self._tx() as conn:
            found: set[str] = set()
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                found.update(
                    conn.execute(
                        sa.select(t.predictions.c.id).where(t.predictions.c.id.in_(chunk))
                    ).scalars()
                )
            missing = [pid for pid in wanted if pid not in found]
            if missing:
                raise NotFound(f"no prediction with id {missing[0]!r}")
            if labels:
                conn.execute(t.labels.insert(), [asdict(lab) for lab in labels])

    def first_labelled_at(self, model: str) -> dict[str, datetime]:
        p, lab = t.predictions, t.labels
        query = (
            sa.select(lab.c.prediction_id, sa.func.min(lab.c.created_at))
            .join(p, lab.c.prediction_id == p.c.id)
            .where(p.c.model == model)
            .group_by(lab.c.prediction_id)
        )
        with self._tx() as conn:
            rows = conn.execute(query).all()
        return {pid: as_utc(at) for pid, at in rows}

    def list_labels(self, prediction_id: str | None = None) -> list[Label]:
        query = sa.select(t.labels).order_by(t.labels.c.created_at, t.labels.c.id)
        if prediction_id is not None:
            query = query.where(t.labels.c.prediction_id == prediction_id)
        with self._tx() as conn:
            rows = conn.execute(query).mappings().all()
        return [_label_of(row) for row in rows]

    # -- review claims -------------------------------------------------------
    def claim_reviews(self, request: ClaimRequest) -> list[tuple[ReviewItem, Prediction]]:
        r, asked, sort = t.review_items, request.where, request.sort
        reviewer, count, now, until = request.reviewer, request.count, request.now, request.until
        skipped = frozenset(request.exclude)
        where = QueueFilter(
            "pending",
            *(() if asked is None else (asked.model, asked.reason, asked.label)),
            *(() if asked is None else (asked.created_before, asked.created_after)),
        )
        # The reviewer's live claims, found through the claims index.
        live = sa.and_(r.c.claimed_by == reviewer, r.c.claim_expires_at > now)
        mine = sa.and_(live, *_bucket_filter(where))
        if skipped:
            mine = sa.and_(mine, r.c.id.not_in(sorted(skipped)))
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
            skip_reasons = request.skip_reasons
            buckets = [b for b in self._buckets(conn, where) if b[1][1] not in skip_reasons]
            while len(ids) < count:
                wanted = count - len(ids)
                # Candidates by the queue's merge of buckets, then taken with _free()
                # again in the UPDATE: an item someone took meanwhile is not taken over.
                window = wanted if not postgres else wanted + 16
                rows = sql_queue.queue_keys(
                    conn, buckets, where, sort, window, after, free_at=now, taker=reviewer
                )
                if not rows:
                    break
                after = sql_queue.merged_key(sort, rows[-1])
                picked = [row.id for row in rows if row.id not in skipped]
                if postgres and picked:
                    # Rows another claimer has locked are skipped, not waited for: 50
                    # reviewers claiming at once each get different items at once.
                    # Only as many as wanted are locked (the first free ones in the
                    # queue's order): a row locked and not taken would be skipped by
                    # every other claimer until this transaction ends.
                    lock = (
                        sa.select(r.c.id)
                        .where(r.c.id.in_(picked), _free(now, by_id=True))
                        .order_by(*_order(sort))
                        .limit(wanted)
                        .with_for_update(skip_locked=True)
                    )
                    picked = list(conn.execute(lock).scalars())
                if picked:
                    ids += conn.execute(
                        r.update()
                        .where(r.c.id.in_(picked), _free(now, by_id=True))
                        .values(claimed_by=reviewer, claim_expires_at=until, claimed_at=now)
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

    def release_review(
        self, review_id: str, reviewer: str, now: datetime, note: str | None = None
    ) -> ReviewItem:
        r = t.review_items
        ours = _held_by(reviewer, now)
        values: dict[str, Any] = {"claimed_by": None, "claim_expires_at": None, "claimed_at": None}
        if note is not None:
            ours, values["comment"] = sa.or_(ours, _free(now)), note
        with self._tx() as conn:
            conn.execute(r.update().where(r.c.id == review_id, ours).values(**values))
            row = row_by_id(conn, r, review_id, "review item")
            if row["status"] != "pending":
                raise Conflict(f"review item {review_id!r} was already decided; nothing to release")
            if not _claimable(row, reviewer, now):
                raise _claim_conflict(row)
        return _review(row)

    def undo_review(
        self, review_id: str, reviewer: str, now: datetime, since: datetime, until: datetime
    ) -> ReviewItem:
        r, lab = t.review_items, t.labels
        with self._tx() as conn:
            row = row_by_id(conn, r, review_id, "review item")
            _check_undoable(row, reviewer, now, since)
            follow = conn.execute(sa.select(r).where(r.c.follows == review_id)).mappings().first()
            if follow is not None and follow["status"] != "pending":
                raise Conflict(
                    f"review item {review_id!r} cannot be undone: the {follow['reason']} "
                    "it called for has been decided already"
                )
            # The rule again in the UPDATE: of an undo racing a second undo, one wins.
            result = conn.execute(
                r.update()
                .where(
                    r.c.id == review_id,
                    r.c.status == "decided",
                    r.c.reviewer == reviewer,
                    r.c.decided_at >= since,
                )
                .values(**_UNDECIDED, claimed_by=reviewer, claim_expires_at=until, claimed_at=now)
            )
            if result.rowcount == 0:
                raise Conflict(f"review item {review_id!r} was undone meanwhile")
            if follow is not None:
                # The second opinion (or adjudication) the decision called for goes too:
                # the decision it follows no longer stands.
                conn.execute(r.delete().where(r.c.id == follow["id"]))
                adjust(conn, bucket_of(_review(follow)), -1, 0)
            conn.execute(
                lab.delete().where(
                    lab.c.prediction_id == row["prediction_id"], lab.c.source_id == review_id
                )
            )
            after = conn.execute(sa.select(r).where(r.c.id == review_id)).mappings().one()
            item = _review(after)
            adjust(conn, bucket_of(item), 1, -1)
        return item

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
