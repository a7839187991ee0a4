"""The review queue's reads by bucket, as hand-built SQL.

Items of one (status, model, reason, predicted label) lie in one range of each sort's
index (tables.py), already in sort order. A filtered page is one statement: a UNION ALL
of one SELECT per bucket the filter matches, each starting just after the cursor, under
the page's ORDER BY and LIMIT. The database merges the buckets' index ranges lazily
(SQLite's MERGE of a compound SELECT, PostgreSQL's Merge Append) and stops at the
page's end: a seek per bucket plus the page, whatever the queue's size or the depth.

The SQL is written here, not built with SQLAlchemy: building and compiling a union of
~100 selects cost ~50-80 ms a request, the query itself ~3 ms. The text depends only on
the buckets and the shape of the filter, so the driver reuses its prepared statement."""

from __future__ import annotations

import heapq
from datetime import datetime
from itertools import groupby
from typing import Any, NamedTuple

from sqlalchemy.engine import Connection

from tandem.domain import QueueFilter, ReviewSort, review_priority
from tandem.store import tables as t
from tandem.store.review_counts import Bucket
from tandem.store.sql_base import utc

ARMS_PER_QUERY = 200
"""Buckets merged in one statement (SQLite allows 500 terms in a compound SELECT);
more are read in several statements and merged here."""


class KeyRow(NamedTuple):
    id: str
    created_at: datetime
    confidence: float
    priority: int


def merged_key(sort: ReviewSort, row: KeyRow) -> tuple[Any, ...]:
    """The row's place in the queue: domain.review_sort_key for a KeyRow."""
    if sort == "oldest":
        return (row.created_at, row.id)
    if sort == "least_confident":
        return (row.confidence, row.id)
    return (row.priority, row.confidence, row.id)


_ORDER = {"oldest": "created_at, id", "least_confident": "confidence, id"}


class _Sql:
    """Placeholders and values for one statement, as the connection's driver takes them."""

    def __init__(self, conn: Connection) -> None:
        dialect = conn.dialect
        self.mark = "?" if dialect.paramstyle == "qmark" else "%s"
        stamp = t.review_items.c.created_at.type.dialect_impl(dialect)
        self.to_db = stamp.bind_processor(dialect)
        self.from_db = stamp.result_processor(dialect, None)
        self.params: list[Any] = []
        self.text = ""

    def bind(self, value: Any) -> str:
        if isinstance(value, datetime) and self.to_db is not None:
            value = self.to_db(value)
        self.params.append(value)
        return self.mark

    def when(self, value: Any) -> datetime:
        return utc(self.from_db(value) if self.from_db is not None else value)  # type: ignore[return-value]


def _arm(
    sql: _Sql,
    status: str,
    bucket: Bucket,
    sort: ReviewSort,
    where: QueueFilter,
    after: tuple[Any, ...] | None,
    free_at: datetime | None,
    taker: str | None = None,
) -> str:
    """One bucket's rows after `after` (sorted by the statement around it); with
    `taker`, none blind to them (a second opinion they gave the first answer of)."""
    model, reason, label = bucket
    priority = review_priority(reason)
    rest = after or ()
    conds = [
        f"status = {sql.bind(status)}",
        f"model = {sql.bind(model)}",
        f"reason = {sql.bind(reason)}",
        f"predicted_label = {sql.bind(label)}",
    ]
    if where.created_before is not None:
        conds.append(f"created_at < {sql.bind(where.created_before)}")
    if where.created_after is not None:
        conds.append(f"created_at >= {sql.bind(where.created_after)}")
    key = "created_at" if sort == "oldest" else "confidence"
    if rest:
        conds.append(f"({key}, id) > ({sql.bind(rest[0])}, {sql.bind(rest[1])})")
    if free_at is not None:  # nobody holds it: never claimed, released, or expired
        conds.append(f"(claimed_by IS NULL OR claim_expires_at <= {sql.bind(free_at)})")
    if taker is not None:
        conds.append(f"(blind_to IS NULL OR blind_to <> {sql.bind(taker)})")
    return (
        f"SELECT id, created_at, confidence, {int(priority)} AS priority FROM review_items "
        f"WHERE {' AND '.join(conds)}"
    )


def _statements(
    conn: Connection,
    buckets: list[tuple[str, Bucket]],
    where: QueueFilter,
    sort: ReviewSort,
    limit: int,
    after: tuple[Any, ...] | None,
    free_at: datetime | None,
    ordered: bool = True,
    taker: str | None = None,
) -> list[_Sql]:
    # SQLite merges plain arms lazily under the compound's ORDER BY; PostgreSQL's
    # planner may instead append whole buckets and sort them (without statistics it
    # does), so there each arm is capped at the page in its own sort order.
    capped = ordered and conn.dialect.name != "sqlite"
    key = "created_at" if sort == "oldest" else "confidence"
    out = []
    for start in range(0, len(buckets), ARMS_PER_QUERY):
        sql = _Sql(conn)
        arms: list[str] = []
        for status, bucket in buckets[start : start + ARMS_PER_QUERY]:
            arm = _arm(sql, status, bucket, sort, where, after, free_at, taker)
            if capped:
                arm = f"SELECT * FROM ({arm} ORDER BY {key}, id LIMIT {int(limit)}) AS a{len(arms)}"
            arms.append(arm)
        if not arms:
            continue
        text = " UNION ALL ".join(arms)
        if ordered:
            text += f" ORDER BY {_ORDER[sort]} LIMIT {int(limit)}"
        sql.text = text
        out.append(sql)
    return out


def _run(conn: Connection, text: str, params: list[Any]) -> list[Any]:
    """Rows of `text`. On PostgreSQL, prepared at once and planned once per connection
    (a generic plan): planning a union of ~100 index ranges took ~16 ms, its run ~2 ms,
    and psycopg prepares only from a statement's 5th run, the server plans generically
    only from the prepared statement's 6th."""
    if conn.dialect.driver != "psycopg":
        return list(conn.exec_driver_sql(text, tuple(params)).all())
    conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    raw: Any = conn.connection.dbapi_connection
    try:
        return list(raw.execute(text, params, prepare=True).fetchall())
    finally:
        conn.exec_driver_sql("SET LOCAL plan_cache_mode = auto")


def queue_keys(
    conn: Connection,
    buckets: list[tuple[str, Bucket]],
    where: QueueFilter,
    sort: ReviewSort,
    limit: int,
    after: tuple[Any, ...] | None = None,
    offset: int = 0,
    free_at: datetime | None = None,
    taker: str | None = None,
) -> list[KeyRow]:
    """The page's rows in sort order: `limit` after `offset` rows past `after`, of the
    buckets given as (status, bucket); only items free at `free_at` when it is given,
    and none blind to `taker`."""
    want = limit + offset
    if sort == "priority":
        # Priority is fixed within a bucket (it is the reason's), so the queue in
        # priority order is each priority's buckets least confident first, in turn:
        # rarely more than a statement or two before the page is full.
        rows: list[KeyRow] = []
        by_priority = sorted(buckets, key=lambda b: review_priority(b[1][1]))
        for priority, group in groupby(by_priority, key=lambda b: review_priority(b[1][1])):
            if after is not None and priority < after[0]:
                continue  # paged past already
            rest = after[1:] if after is not None and priority == after[0] else None
            rows += queue_keys(
                conn,
                list(group),
                where,
                "least_confident",
                want - len(rows),
                rest,
                0,
                free_at,
                taker,
            )
            if len(rows) >= want:
                break
        return rows[offset:want]
    streams = []
    for sql in _statements(conn, buckets, where, sort, want, after, free_at, taker=taker):
        found = _run(conn, sql.text, sql.params)
        streams.append([KeyRow(i, sql.when(c), f, p) for i, c, f, p in found])
    if not streams:
        return []
    merged = (
        streams[0]
        if len(streams) == 1
        else heapq.merge(*streams, key=lambda row: merged_key(sort, row))
    )
    return list(merged)[offset:want]


def count_capped(
    conn: Connection, buckets: list[tuple[str, Bucket]], where: QueueFilter, cap: int
) -> int:
    """Items of the buckets matching `where` (its age included), counted up to cap + 1."""
    total = 0
    for sql in _statements(conn, buckets, where, "oldest", cap + 1, None, None, ordered=False):
        text = f"SELECT COUNT(*) FROM ({sql.text} LIMIT {int(cap + 1 - total)}) AS capped"
        total += int(_run(conn, text, sql.params)[0][0])
        if total > cap:
            break
    return min(total, cap + 1)
