"""Persistence: every prediction, review, feedback and label, behind one interface."""

from __future__ import annotations

from tandem.store.base import Store
from tandem.store.engine import make_engine
from tandem.store.migrate import upgrade
from tandem.store.sql import SqlStore


def open_store(url: str, migrate: bool = True) -> Store:
    """Open the store named by `url`; both SQLite and PostgreSQL go through SqlStore."""
    engine = make_engine(url)
    if migrate:
        upgrade(engine)
    return SqlStore(engine)


__all__ = ["Store", "SqlStore", "open_store", "make_engine", "upgrade"]
