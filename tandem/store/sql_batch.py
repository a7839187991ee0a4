"""Batched writes of predictions (+ review items, shadow results, intake rows, and
their features as column blocks for drift).

A commit's fixed cost is shared by every request that arrived while the previous one
ran. On SQLite each table's rows go in one executemany of a prepared INSERT, built here,
once, with SQLAlchemy's own bind processors (JSON, dates), straight onto the driver's
cursor: `Connection.execute`'s per-row parameter machinery ran on the writer thread and,
holding the GIL, held up the event loop. On PostgreSQL the whole batch is one statement
(`batch_statement`): in batches of four it costs the writer 48 µs of CPU an entry and
PostgreSQL's backend 92, where one INSERT per table costs 158 and 121
(`benchmarks/writer.py`). The writer's connection is its own: no pool checkout (and, on
PostgreSQL, no pre-ping round trip) per batch."""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from tandem.encoding import dumps
from tandem.store import tables as t
from tandem.store.prediction_log import LogEntry
from tandem.store.review_counts import ON_CONFLICT, adjust_many, review_changes
from tandem.store.sql_base import store_errors
from tandem.store.suggestion_rows import feedback_row
from tandem.store.writer import BatchLog

log = logging.getLogger("tandem")

_PARTS = (
    ("prediction", t.predictions),
    ("review", t.review_items),
    ("shadow", t.shadow_predictions),
    ("intake", t.intake),
    ("revision", t.draft_revisions),
)  # parents before children: review items and shadow results point at predictions

BATCH_TABLES = (*(table for _, table in _PARTS), t.suggestion_feedback, t.feature_blocks)
"""Every table a batch inserts into, parents first (the counts' upsert comes last)."""

Processor = Callable[[Any], Any] | None


_MARK = {("postgresql", "psycopg"): "%s", ("sqlite", "pysqlite"): "?"}
"""The placeholder of each driver whose rows go straight to its cursor."""


class CompiledInsert:
    """How one table's rows reach the driver: each column's bind processor, and the
    INSERT in the driver's own placeholders (psycopg, SQLite), else SQLAlchemy's."""

    def __init__(self, table: sa.Table, dialect: Dialect) -> None:
        self.table = table
        self.names = [c.key for c in table.columns]
        self.processors: list[Processor] = [
            c.type.dialect_impl(dialect).bind_processor(dialect) for c in table.columns
        ]
        columns = ", ".join(c.name for c in table.columns)
        mark = _MARK.get((dialect.name, dialect.driver))
        self.insert_sql = None
        if mark is not None:
            marks = ", ".join([mark] * len(self.names))
            self.insert_sql = f"INSERT INTO {table.name} ({columns}) VALUES ({marks})"
        # Plain str, not SQLAlchemy's quoted_name: the JSON encoder looks a str
        # subclass over for a serialiser of its own, at every key of every record.
        self.fields = [(str(c.name), c.key) for c in table.columns]
        self.binary = [str(c.name) for c in table.columns if isinstance(c.type, sa.LargeBinary)]

    def row(self, obj: object) -> tuple[Any, ...]:
        """`obj`'s fields (named as the columns), as the driver takes them."""
        return tuple(
            getattr(obj, name) if proc is None else proc(getattr(obj, name))
            for name, proc in zip(self.names, self.processors, strict=True)
        )

    def record(self, obj: object) -> dict[str, Any]:
        """`obj`'s fields as one JSON object keyed by column (PostgreSQL's
        json_populate_recordset reads it): values as they are, bytes as bytea's hex
        text."""
        record = {name: getattr(obj, key) for name, key in self.fields}
        for name in self.binary:
            if (value := record[name]) is not None:
                record[name] = "\\x" + value.hex()
        return record

    def write(self, conn: Connection, objs: list[object]) -> None:
        if self.insert_sql is None:  # another driver: the slow way
            rows = [{n: getattr(o, n) for n in self.names} for o in objs]
            conn.execute(self.table.insert(), rows)
            return
        self.write_rows(conn, [self.row(o) for o in objs])

    def write_rows(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """Rows already as the driver takes them (see `row`), by executemany: only
        where `insert_sql` is set."""
        cursor: Any = conn.connection.cursor()
        try:
            with driver_errors(conn, self.insert_sql or ""):
                cursor.executemany(self.insert_sql, rows)
        finally:
            cursor.close()


@contextlib.contextmanager
def driver_errors(conn: Connection, sql: str) -> Iterator[None]:
    """Errors raised by the driver itself, dressed as SQLAlchemy would have, so every
    caller tells an outage from refused data the same way."""
    try:
        yield
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, None, exc, conn.dialect.loaded_dbapi.Error) from exc


@functools.cache
def compiled_inserts(dialect: Dialect) -> tuple[tuple[str, CompiledInsert], ...]:
    return tuple((part, CompiledInsert(table, dialect)) for part, table in _PARTS)


@functools.cache
def compiled_outcomes(dialect: Dialect) -> CompiledInsert:
    return CompiledInsert(t.suggestion_feedback, dialect)


@functools.cache
def compiled_blocks(dialect: Dialect) -> CompiledInsert:
    return CompiledInsert(t.feature_blocks, dialect)


def filled(entry: LogEntry) -> LogEntry:
    """The entry with its review item carrying its prediction's model, label and
    confidence (what the queue filters by), whoever built the item."""
    r, p = entry.review, entry.prediction
    if r is None or p is None or (r.model, r.predicted_label) == (p.model, p.label):
        return entry
    item = replace(r, model=p.model, predicted_label=p.label, confidence=p.confidence)
    return replace(entry, review=item)


def batch_rows(
    dialect: Dialect, entries: Sequence[LogEntry]
) -> list[tuple[CompiledInsert, list[object]]]:
    """Each table's new rows for `entries`, parents first: every part of every entry,
    the outcomes (each as its row's columns: its kind, the rating's columns empty) and
    the batch's features as one block per model version. The entries come `filled`."""
    parts: list[tuple[CompiledInsert, list[object]]] = []
    for part, insert in compiled_inserts(dialect):
        objs = [obj for e in entries if (obj := getattr(e, part)) is not None]
        if objs:
            parts.append((insert, objs))
    outcomes: list[object] = [
        SimpleNamespace(**feedback_row(o)) for e in entries for o in e.outcomes
    ]
    if outcomes:
        parts.append((compiled_outcomes(dialect), outcomes))
    predictions = [e.prediction for e in entries if e.prediction is not None]
    if predictions:
        # Here, not at the top: numpy loads with the first write, not with every store.
        from tandem.store.feature_blocks import blocks_of, encode

        blocks: list[object] = [encode(b) for b in blocks_of(predictions)]
        parts.append((compiled_blocks(dialect), blocks))
    return parts


def write_entries(
    conn: Connection, entries: Sequence[LogEntry], one_statement: bool = True
) -> None:
    """Insert every part of every entry on `conn` (the caller owns the transaction),
    the batch's features as one block per model version, and the queue's counts: on
    PostgreSQL as one statement (unless `one_statement` is False), else as one INSERT per
    table (`benchmarks/writer.py` compares the two)."""
    if conn.dialect.driver == "psycopg" and one_statement:
        write_one_statement(conn, entries)
        return
    entries = [filled(e) for e in entries]
    for insert, objs in batch_rows(conn.dialect, entries):
        insert.write(conn, objs)
    adjust_many(conn, review_changes(e.review for e in entries if e.review is not None))


def write_one_statement(conn: Connection, entries: Sequence[LogEntry]) -> None:
    """PostgreSQL: the whole batch as one statement (`batch_statement`)."""
    from psycopg import RawCursor  # only PostgreSQL's writer gets here

    raw: Any = conn.connection.dbapi_connection
    sql = batch_statement()
    with driver_errors(conn, sql), RawCursor(raw) as cursor:
        cursor.execute(sql, batch_params(conn.dialect, entries))


def batch_params(dialect: Dialect, entries: Sequence[LogEntry]) -> list[str | None]:
    """The parameters of `batch_statement` for `entries`: each table's rows as one JSON
    array (None for none), the queue's count changes last. Serialising them is one call
    into pydantic-core per table, and psycopg adapts one parameter per table, not one
    per value."""
    entries = [filled(e) for e in entries]
    by_table = {insert.table.name: (insert, objs) for insert, objs in batch_rows(dialect, entries)}
    params: list[str | None] = []
    for table in BATCH_TABLES:
        if table.name in by_table:
            insert, objs = by_table[table.name]
            params.append(dumps([insert.record(o) for o in objs]))
        else:
            params.append(None)  # json_populate_recordset(NULL) is no rows
    changes = review_changes(e.review for e in entries if e.review is not None)
    rows = [dict(zip(_COUNT_COLUMNS, (*key, p, d), strict=True)) for key, p, d in changes]
    params.append(dumps(rows) if rows else None)
    return params


_COUNT_COLUMNS = ("model", "reason", "predicted_label", "pending", "decided")


@functools.cache
def batch_statement() -> str:
    """The one statement a batch is written with on PostgreSQL, always the same one
    (prepared once): each table's rows arrive as one JSON array (`batch_params`), read
    back into rows by `json_populate_recordset`, the tables joined as data-modifying
    WITH clauses, the queue's counts last. One message and one wait; on a connection in
    autocommit it is its own transaction, so the commit costs no round trip either.
    Foreign keys are checked when the statement ends, so a review item may point at a
    prediction of the same statement. psycopg does not parse the query either (a
    RawCursor, `$n` placeholders)."""
    withs = ", ".join(
        f"w{i} AS (INSERT INTO {table.name} SELECT * FROM "
        f"json_populate_recordset(NULL::{table.name}, ${i}::json))"
        for i, table in enumerate(BATCH_TABLES, start=1)
    )
    counts = f"${len(BATCH_TABLES) + 1}::json"
    return (
        f"WITH {withs} INSERT INTO review_counts SELECT * FROM "
        f"json_populate_recordset(NULL::review_counts, {counts}) {ON_CONFLICT}"
    )


SQLITE_BUSY = 5
LOCK_WAIT_S = 10.0  # how long a batch waits for another process's write lock (as busy_timeout)


def _locked(exc: OperationalError) -> bool:
    """SQLite's "database is locked": another process is committing right now."""
    return getattr(exc.orig, "sqlite_errorcode", None) == SQLITE_BUSY


class SqlBatchLog(BatchLog):
    """The group-commit writer's connection.

    On SQLite, two things differ from the pool's connections. Its automatic WAL
    checkpoint is off (it ran inside whichever commit crossed 1,000 pages, stalling
    that batch 11-17 ms); a WalCheckpointer thread does that work on its own
    connection. And it waits for the write lock itself, in steps of 0.1 ms doubling up
    to 5 ms, instead of through busy_timeout, whose first sleep is a whole millisecond
    and then 2, 5, 10...: with several worker processes each committing every
    millisecond or so, those sleeps, not the commits, set the pace."""

    def __init__(self, engine: Engine, one_statement: bool = True) -> None:
        self.engine = engine
        self._conn: Connection | None = None
        self._checkpointer = WalCheckpointer(engine) if engine.dialect.name == "sqlite" else None
        # PostgreSQL's batches as one statement each (see batch_statement), in autocommit.
        self._one_statement = engine.dialect.driver == "psycopg" and one_statement

    def _connection(self) -> Connection:
        if self._conn is None:
            conn = self.engine.connect()
            conn.detach()  # its own settings below must never reach the pool
            if self._checkpointer is not None:
                conn.exec_driver_sql("PRAGMA wal_autocheckpoint=0")
                conn.exec_driver_sql("PRAGMA busy_timeout=0")
                conn.commit()
            if self._one_statement:  # each batch is one statement: its own transaction
                conn.connection.dbapi_connection.autocommit = True  # type: ignore[union-attr]
            self._conn = conn
        return self._conn

    def write(self, entries: Sequence[LogEntry]) -> None:
        deadline, pause = time.monotonic() + LOCK_WAIT_S, 0.0001
        with store_errors():
            while True:
                try:
                    conn = self._connection()
                    if self._one_statement:
                        write_entries(conn, entries)
                    else:
                        with conn.begin():
                            write_entries(conn, entries, one_statement=False)
                    break
                except OperationalError as exc:
                    if _locked(exc) and time.monotonic() < deadline:
                        time.sleep(pause)  # the transaction was rolled back: try it again
                        pause = min(pause * 2, 0.005)
                        continue
                    if self._conn is not None:
                        with contextlib.suppress(SQLAlchemyError):  # perhaps broken: afresh
                            self._conn.close()
                        self._conn = None
                    raise
        if self._checkpointer is not None:
            self._checkpointer.wrote(len(entries))

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class WalCheckpointer:
    """Copies SQLite's write-ahead log back into the database file from a thread of
    its own, between and beside the writer's commits.

    PASSIVE never waits for the writer or for readers, so the writer never waits for
    it; the log is reused from its start once a checkpoint has caught up, which keeps
    it from growing. The sqlite3 module releases the GIL while SQLite works, so the
    fsyncs here do not hold up the event loop either."""

    def __init__(self, engine: Engine, every_rows: int = 500, every_s: float = 1.0) -> None:
        self.engine = engine
        self.every_rows = every_rows
        self.every_s = every_s
        self.checkpoints = 0
        self._pending = 0
        self._wake = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="tandem-checkpoint", daemon=True)
        self._thread.start()

    def wrote(self, rows: int) -> None:
        """Called by the writer after each commit: wake up once enough has piled up."""
        self._pending += rows
        if self._pending >= self.every_rows:
            self._pending = 0
            self._wake.set()

    def _run(self) -> None:
        conn: Any = None
        try:
            conn = self.engine.raw_connection()
            while not self._stop:
                self._wake.wait(self.every_s)
                self._wake.clear()
                try:
                    conn.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except Exception:  # a failed checkpoint only delays the next one
                    log.warning("WAL checkpoint failed", exc_info=True)
        except Exception:
            log.exception("the WAL checkpointer stopped; SQLite's log will grow until restart")
        finally:
            if conn is not None:
                conn.close()

    def close(self) -> None:
        self._stop = True
        self._wake.set()
        self._thread.join(timeout=30)
