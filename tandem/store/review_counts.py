"""The queue's counts per (model, reason, predicted label): kept in the transaction
that writes or decides items, so reading them costs a few rows whatever the queue's
size. Keys are changed in sorted order, so two transactions never wait on each
other's counters in opposite orders (no deadlock on PostgreSQL)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tandem.domain import ReviewItem
from tandem.store import tables as t

Bucket = tuple[str, str, str]
"""(model, reason, predicted label)"""


def bucket_of(item: ReviewItem) -> Bucket:
    return item.model, item.reason, item.predicted_label


def count_reviews(conn: Connection, items: Iterable[ReviewItem]) -> None:
    """Add newly written items to the counts."""
    pending: Counter[Bucket] = Counter()
    decided: Counter[Bucket] = Counter()
    for item in items:
        (pending if item.status == "pending" else decided)[bucket_of(item)] += 1
    for key in sorted(pending.keys() | decided.keys()):
        adjust(conn, key, pending[key], decided[key])


def adjust(conn: Connection, key: Bucket, pending: int, decided: int) -> None:
    """Add `pending` and `decided` (either may be negative) to one bucket's counts."""
    c = t.review_counts
    dialect = conn.dialect.name
    values = {
        "model": key[0],
        "reason": key[1],
        "predicted_label": key[2],
        "pending": pending,
        "decided": decided,
    }
    if dialect in ("sqlite", "postgresql"):
        # Imported here: the PostgreSQL dialect is large, and a command that only reads
        # the store (`tandem keys list`) should not load it for a SQLite file.
        from sqlalchemy.dialects import postgresql, sqlite

        insert = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(c).values(values)
        conn.execute(
            insert.on_conflict_do_update(
                index_elements=[c.c.model, c.c.reason, c.c.predicted_label],
                set_={
                    "pending": c.c.pending + insert.excluded.pending,
                    "decided": c.c.decided + insert.excluded.decided,
                },
            )
        )
        return
    where = sa.and_(c.c.model == key[0], c.c.reason == key[1], c.c.predicted_label == key[2])
    changed = conn.execute(
        c.update().where(where).values(pending=c.c.pending + pending, decided=c.c.decided + decided)
    )
    if changed.rowcount == 0:
        conn.execute(c.insert().values(values))


def read_counts(conn: Connection) -> dict[Bucket, tuple[int, int]]:
    """Every bucket that ever held an item: (pending, decided)."""
    c = t.review_counts
    columns = (c.c.model, c.c.reason, c.c.predicted_label, c.c.pending, c.c.decided)
    rows = conn.execute(sa.select(*columns))
    return {(m, r, lab): (int(p), int(d)) for m, r, lab, p, d in rows}
