"""The queue's counts per (model, reason, predicted label): kept in the transaction
that writes or decides items, so reading them costs a few rows whatever the queue's
size. Keys are changed in sorted order, so two transactions never wait on each
other's counters in opposite orders (no deadlock on PostgreSQL)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tandem.domain import ReviewItem
from tandem.store import tables as t

Bucket = tuple[str, str, str]
"""(model, reason, predicted label)"""


def bucket_of(item: ReviewItem) -> Bucket:
    return item.model, item.reason, item.predicted_label


def review_changes(items: Iterable[ReviewItem]) -> list[tuple[Bucket, int, int]]:
    """What newly written items add to each bucket: (bucket, pending, decided), in the
    buckets' sorted order, each bucket once."""
    pending: Counter[Bucket] = Counter()
    decided: Counter[Bucket] = Counter()
    for item in items:
        (pending if item.status == "pending" else decided)[bucket_of(item)] += 1
    return [(key, pending[key], decided[key]) for key in sorted(pending.keys() | decided.keys())]


def adjust(conn: Connection, key: Bucket, pending: int, decided: int) -> None:
    """Add `pending` and `decided` (either may be negative) to one bucket's counts."""
    adjust_many(conn, [(key, pending, decided)])


ON_CONFLICT = (
    "ON CONFLICT (model, reason, predicted_label) DO UPDATE SET "
    "pending = review_counts.pending + excluded.pending, "
    "decided = review_counts.decided + excluded.decided"
)
_COLUMNS = "review_counts (model, reason, predicted_label, pending, decided)"
_UPSERT = f"INSERT INTO {_COLUMNS} VALUES ({{marks}}) {ON_CONFLICT}"
_MARKS = {"qmark": ", ".join("?" * 5), "format": ", ".join(["%s"] * 5)}
_MARKS["pyformat"] = _MARKS["format"]


def adjust_many(conn: Connection, changes: Sequence[tuple[Bucket, int, int]]) -> None:
    """Apply (bucket, pending, decided) changes, in the order given, on SQLite and
    PostgreSQL as one prepared upsert straight to the driver: building SQLAlchemy's
    insert construct each time cost the writer thread ~1 ms a batch, GIL held."""
    if not changes:
        return
    dialect = conn.dialect
    marks = _MARKS.get(dialect.paramstyle)
    if dialect.name in ("sqlite", "postgresql") and marks is not None:
        rows = [(*key, p, d) for key, p, d in changes]
        conn.exec_driver_sql(_UPSERT.format(marks=marks), rows if len(rows) > 1 else rows[0])
        return
    c = t.review_counts
    for key, pending, decided in changes:
        where = sa.and_(c.c.model == key[0], c.c.reason == key[1], c.c.predicted_label == key[2])
        changed = conn.execute(
            c.update()
            .where(where)
            .values(pending=c.c.pending + pending, decided=c.c.decided + decided)
        )
        if changed.rowcount == 0:
            values = {"model": key[0], "reason": key[1], "predicted_label": key[2]}
            conn.execute(c.insert().values(**values, pending=pending, decided=decided))


def read_counts(conn: Connection) -> dict[Bucket, tuple[int, int]]:
    """Every bucket that ever held an item: (pending, decided)."""
    c = t.review_counts
    columns = (c.c.model, c.c.reason, c.c.predicted_label, c.c.pending, c.c.decided)
    rows = conn.execute(sa.select(*columns))
    return {(m, r, lab): (int(p), int(d)) for m, r, lab, p, d in rows}
