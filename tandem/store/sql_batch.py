"""Batched writes of predictions (+ review items, shadow results, intake rows).

One multi-row INSERT per table per batch (executemany on a statement SQLAlchemy
compiles once and caches), so a commit's fixed cost is shared by every request that
arrived while the previous one ran. The writer's connection is its own: no pool
checkout (and, on PostgreSQL, no pre-ping round trip) per batch."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from tandem.domain import shallow_dict
from tandem.errors import Conflict, StoreError, StoreUnavailable, TandemError
from tandem.store import tables as t
from tandem.store.base import BatchLog, LogEntry

log = logging.getLogger("tandem")

_INSERTS = (
    ("prediction", t.predictions),
    ("review", t.review_items),
    ("shadow", t.shadow_predictions),
    ("intake", t.intake),
)  # parents before children: review items and shadow results point at predictions


def write_entries(conn: Connection, entries: Sequence[LogEntry]) -> None:
    """Insert every part of every entry on `conn` (the caller owns the transaction)."""
    for part, table in _INSERTS:
        rows = [shallow_dict(row) for e in entries if (row := getattr(e, part)) is not None]
        if rows:
            conn.execute(table.insert(), rows)


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
