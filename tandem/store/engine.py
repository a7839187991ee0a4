"""Engine creation: the one place that knows SQLite needs pragmas to behave."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tandem.encoding import dumps
from tandem.files import private_dir, private_file


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the writer; busy_timeout waits for the lock
    # instead of failing; synchronous=NORMAL is durable across process crashes
    # in WAL mode (only an OS crash can lose the last commits).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def in_memory(url: sa.engine.URL) -> bool:
    """Whether `url` is an SQLite database that lives in one process's memory, which no
    other connection of another process (or, for some, another pool) can open."""
    database = url.database
    return url.get_backend_name() == "sqlite" and (
        database in (None, "", ":memory:")
        or url.query.get("mode") == "memory"  # sqlite:///file:name?mode=memory&uri=true
        or "mode=memory" in str(database)
    )


def make_engine(url: str) -> Engine:
    """Build an engine for `url`; SQLite files get WAL, busy_timeout and foreign keys."""
    if url.startswith("sqlite"):
        database = sa.engine.make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            # Created here, 0600 in a 0700 folder, before SQLite opens it: SQLite gives
            # its -wal and -shm files the database file's mode.
            private_dir(Path(database).parent)
            private_file(Path(database))
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False}, json_serializer=dumps
        )
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=10, json_serializer=dumps
    )
