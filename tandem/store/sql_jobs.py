"""Job locks: PostgreSQL session advisory locks, one per job name. SQLite serves one
host (its file is local), so there a job always runs."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from tandem.store.job_locks import JobLocks
from tandem.store.sql_base import SqlBase, store_errors

log = logging.getLogger("tandem")


def job_key(job: str) -> int:
    """A job's advisory lock key: a signed 64-bit number from its name (the migration
    lock, tandem.store.migrate.MIGRATION_LOCK, is another constant)."""
    digest = hashlib.sha256(f"tandem job {job}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class JobLockSql(SqlBase, JobLocks):
    @contextmanager
    def exclusive(self, job: str) -> Iterator[bool]:
        if self.engine.dialect.name != "postgresql":
            yield True
            return
        key = {"key": job_key(job)}
        # A session lock on a connection of its own, in autocommit: the job's own
        # transactions run on other connections, and no transaction stays open here
        # while the job runs. Unlocked on the same connection it was taken on.
        with store_errors():
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            with store_errors():
                taken = conn.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), key)
                held = bool(taken.scalar())
            try:
                yield held
            finally:
                if held:
                    try:
                        conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), key)
                    except Exception:
                        # Dropping the session releases its locks; never pool it.
                        log.warning("could not unlock job %r; closing its session", job)
                        conn.invalidate()
        finally:
            conn.close()
