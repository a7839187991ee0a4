"""Persistence: every prediction, review, feedback and label, behind one interface."""

from __future__ import annotations

from sqlalchemy.exc import OperationalError

from tandem.errors import StoreUnavailable
from tandem.store.base import Store
from tandem.store.engine import make_engine
from tandem.store.migrate import upgrade
from tandem.store.sql import SqlStore


def open_store(url: str, migrate: bool = True) -> Store:
    """Open the store named by `url`; both SQLite and PostgreSQL go through SqlStore.
    A store that cannot be reached raises StoreUnavailable: one line for the CLI and
    the server's start-up, not a driver traceback."""
    engine = make_engine(url)
    if migrate:
        try:
            upgrade(engine)
        except OperationalError as exc:
            engine.dispose()
            detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise StoreUnavailable(f"the store is unavailable: {detail}") from exc
    return SqlStore(engine)


__all__ = ["Store", "SqlStore", "open_store", "make_engine", "upgrade"]
