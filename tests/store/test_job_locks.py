"""Background jobs take turns across hosts: on PostgreSQL a job's lock is held by one
process at a time and dies with its holder's session; SQLite serves one host."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tandem.periodic import Periodic
from tandem.settings import Settings
from tandem.store import open_store
from tandem.store.base import Store


def test_a_job_runs_on_one_host_at_a_time(settings: Settings, store: Store) -> None:
    other_host = open_store(settings.resolved_database_url)
    try:
        with store.exclusive("alert check") as held:
            assert held
            with other_host.exclusive("alert check") as elsewhere:
                if store.engine.dialect.name == "postgresql":  # type: ignore[attr-defined]
                    assert not elsewhere
                else:
                    assert elsewhere  # one host by nature: no lock to take
            with other_host.exclusive("feature block compaction") as other_job:
                assert other_job  # each job has its own lock
        with other_host.exclusive("alert check") as after:
            assert after  # released when the holder's block ends
    finally:
        other_host.close()


def test_a_lock_dies_with_its_holders_session(settings: Settings, store: Store) -> None:
    """A host killed mid-run leaves no lock behind: PostgreSQL ends its session."""
    if store.engine.dialect.name != "postgresql":  # type: ignore[attr-defined]
        pytest.skip("advisory locks are PostgreSQL's; on SQLite every run holds the job")
    crashed = open_store(settings.resolved_database_url)
    try:
        held = crashed.exclusive("alert check")
        assert held.__enter__()
        with store.exclusive("alert check") as elsewhere:
            assert not elsewhere
        with store.engine.begin() as conn:  # type: ignore[attr-defined]
            ended = conn.execute(
                sa.text(
                    # This test's database only: the cluster is shared with other tests.
                    "SELECT count(pg_terminate_backend(l.pid, 10000)) FROM pg_locks l "
                    "JOIN pg_database d ON d.oid = l.database "
                    "WHERE l.locktype = 'advisory' AND d.datname = current_database() "
                    "AND l.pid <> pg_backend_pid()"
                )
            ).scalar()
        assert ended == 1  # and waited for: the session is gone
        with store.exclusive("alert check") as after:
            assert after
        held.__exit__(None, None, None)  # the unlock fails on the dead session: no error
    finally:
        crashed.close()


def test_a_periodic_job_is_skipped_while_another_host_runs_it(
    settings: Settings, store: Store
) -> None:
    runs: list[str] = []
    job = Periodic("alert check", 60, lambda: runs.append("ran"), store.exclusive)
    assert job.run_once() and runs == ["ran"]
    other_host = open_store(settings.resolved_database_url)
    try:
        with other_host.exclusive("alert check"):
            ran = job.run_once()
        if store.engine.dialect.name == "postgresql":  # type: ignore[attr-defined]
            assert not ran and runs == ["ran"]
        else:
            assert ran and runs == ["ran", "ran"]
    finally:
        other_host.close()
