"""What every SQL store module shares: the engine and one transactional scope."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from tandem.errors import Conflict, StoreError, StoreUnavailable
from tandem.store.base import Store


def utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything we store is UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class SqlBase(Store):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """One transactional scope: commit or roll back, and speak Tandem's errors."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise StoreUnavailable(f"the store is unavailable: {exc.orig}") from exc
        except sa.exc.IntegrityError as exc:
            raise Conflict(f"conflicting write: {exc.orig}") from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"store error: {exc}") from exc

    def close(self) -> None:
        self.engine.dispose()
