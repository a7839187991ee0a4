"""Persistence: every prediction, review, feedback and label, behind narrow
interfaces, one per domain, each in its own module:

- `PredictionLog` (prediction_log): the serving path's writes, `await log.write(entry)`,
  and the reads every domain shares (`PredictionReads`);
- `ReviewQueue` (review_queue): review items, claims, decisions, feedback and labels
  (`LabelReads` is what evaluation, retraining and post-mortems read of them);
- `RegistryStore` (registry_store): model versions, events, shadow results, drift
  references, reviewer guidelines (`VersionReads`, `DriftReferences`, `GuidelinesStore`);
- `MonitoringStore` (monitoring_store): concern metrics, alerts and checks, logged
  features for drift; `ReportReads` (report_store) adds the report's column reads;
- `TriageStore` (triage_store): bug triage and post-mortems;
- `KeyStore` (key_store): API keys and the page sessions opened with them;
- `ArtifactBlobs` (artifact_blobs): model artifacts' bytes, for every host;
- `JobLocks` (job_locks): one host at a time runs each background job.

A domain's interface inherits the small read interfaces of the records it works
on (a post-mortem snapshots predictions and their labels), so each service takes one
store parameter and sees only what it reads or writes.

One SQL class implements them all (`SqlStore`, one module per domain): the domains
join each other's tables (reviews with predictions, bugs with feedback), run in one
transactional scope with one mapping of driver errors, and share one engine and one
writer thread; per-domain objects would each need the same engine and would still
have to implement the shared reads. `Store` names the whole, for the one place that
opens it (the app factory, the CLI) and hands each service its part."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from tandem.store.base import Store
    from tandem.store.engine import make_engine
    from tandem.store.migrate import upgrade
    from tandem.store.sql import SqlStore

# Importing an interface (tandem.store.key_store, ...) loads no driver: SQLAlchemy, the
# SQL modules and Alembic load when a store is opened or one of these names is used.
_LAZY = {
    "Store": "tandem.store.base",
    "SqlStore": "tandem.store.sql",
    "make_engine": "tandem.store.engine",
    "upgrade": "tandem.store.migrate",
}


def open_engine(url: str, migrate: bool = True) -> Engine:
    """The engine for `url`, its schema checked as `open_store` checks it: for a command
    that needs one domain's SQL module alone (`tandem keys list` reads the keys without
    loading every other domain's)."""
    from tandem.errors import TandemError
    from tandem.store.engine import make_engine
    from tandem.store.migrate import upgrade_if_behind
    from tandem.store.sql_base import store_errors

    engine = make_engine(url)
    if migrate:
        try:
            with store_errors():
                upgrade_if_behind(engine)
        except TandemError:
            engine.dispose()
            raise
    return engine


def open_store(url: str, migrate: bool = True) -> Store:
    """Open the store named by `url`; both SQLite and PostgreSQL go through SqlStore.
    With `migrate`, a schema behind the migrations is brought up to date (a current one
    is only read: Alembic loads when there is something to do). A store that cannot be
    reached raises StoreUnavailable: one line for the CLI and the server's start-up, not
    a driver traceback."""
    from tandem.store.sql import SqlStore

    return SqlStore(open_engine(url, migrate))


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Store", "SqlStore", "open_engine", "open_store", "make_engine", "upgrade"]
