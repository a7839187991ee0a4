"""Batched writes of predictions (+ review items, shadow results, intake rows).

One executemany per table per batch, so a commit's fixed cost is shared by every
request that arrived while the previous one ran. Each INSERT is compiled once per
dialect and its rows are built here with SQLAlchemy's own bind processors (JSON,
dates), skipping the per-row parameter machinery of `Connection.execute`: that
machinery ran on the writer thread and, holding the GIL, delayed the event loop.
The writer's connection is its own: no pool checkout (and, on PostgreSQL, no
pre-ping round trip) per batch."""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from tandem.errors import Conflict, StoreError, StoreUnavailable, TandemError
from tandem.store import tables as t
from tandem.store.base import BatchLog, LogEntry

log = logging.getLogger("tandem")

_PARTS = (
    ("prediction", t.predictions),
    ("review", t.review_items),
    ("shadow", t.shadow_predictions),
    ("intake", t.intake),
)  # parents before children: review items and shadow results point at predictions

Processor = Callable[[Any], Any] | None


class CompiledInsert:
    """A table's INSERT as the driver sees it, and how to turn a domain object (whose
    fields are named as the columns) into that INSERT's parameters."""

    def __init__(self, table: sa.Table, dialect: Dialect) -> None:
        compiled = table.insert().compile(dialect=dialect)
        self.sql = compiled.string
        self.positional = compiled.positional
        names = list(compiled.positiontup or []) if self.positional else list(table.c.keys())
        self.columns: list[tuple[str, Processor]] = [
            (name, table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in names
        ]

    def params(self, obj: object) -> tuple[Any, ...] | dict[str, Any]:
        values = [
            getattr(obj, name) if proc is None else proc(getattr(obj, name))
            for name, proc in self.columns
        ]
        if self.positional:
            return tuple(values)
        return dict(zip([name for name, _ in self.columns], values, strict=True))


@functools.cache
def compiled_inserts(dialect: Dialect) -> tuple[tuple[str, CompiledInsert], ...]:
    return tuple((part, CompiledInsert(table, dialect)) for part, table in _PARTS)


def write_entries(conn: Connection, entries: Sequence[LogEntry]) -> None:
    """Insert every part of every entry on `conn` (the caller owns the transaction)."""
    for part, insert in compiled_inserts(conn.dialect):
        rows = [insert.params(obj) for e in entries if (obj := getattr(e, part)) is not None]
        if rows:
            conn.exec_driver_sql(insert.sql, rows)


def _store_error(exc: SQLAlchemyError) -> TandemError:
    """The project's error for a failed batch, as SqlBase._tx would raise it."""
    if isinstance(exc, OperationalError):
        return StoreUnavailable(f"the store is unavailable: {exc.orig}")
    if isinstance(exc, IntegrityError):
        return Conflict(f"conflicting write: {exc.orig}")
    return StoreError(f"store error: {exc}")


class SqlBatchLog(BatchLog):
    """The group-commit writer's connection. On SQLite its automatic WAL checkpoint is
    switched off (it ran inside whichever commit crossed 1,000 pages, stalling that
    batch 11-17 ms); a WalCheckpointer thread does the work on its own connection."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Connection | None = None
        self._checkpointer = WalCheckpointer(engine) if engine.dialect.name == "sqlite" else None

    def _connection(self) -> Connection:
        if self._conn is None:
            conn = self.engine.connect()
            conn.detach()  # its own settings below must never reach the pool
            if self._checkpointer is not None:
                conn.exec_driver_sql("PRAGMA wal_autocheckpoint=0")
                conn.commit()
            self._conn = conn
        return self._conn

    def write(self, entries: Sequence[LogEntry]) -> None:
        try:
            conn = self._connection()
            with conn.begin():
                write_entries(conn, entries)
        except SQLAlchemyError as exc:
            if isinstance(exc, OperationalError) and self._conn is not None:
                with contextlib.suppress(SQLAlchemyError):  # perhaps broken: start afresh
                    self._conn.close()
                self._conn = None
            raise _store_error(exc) from exc
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
