"""What every SQL store module shares: the engine, the one translation of driver
errors into Tandem's, and the transactional scope every query runs in."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVarTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row, RowMapping
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from tandem.errors import Conflict, InvalidInput, NotFound, StoreError, StoreUnavailable

log = logging.getLogger("tandem")
Ts = TypeVarTuple("Ts")


def _first_line(error: BaseException | None) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


@contextmanager
def store_errors() -> Iterator[None]:
    """Speak Tandem's errors, not the driver's: the one place they are mapped, for
    every transaction, the writer's batches, compaction and migrations."""
    try:
        yield
    except OperationalError as exc:
        raise StoreUnavailable(f"the store is unavailable: {_first_line(exc.orig)}") from exc
    except IntegrityError as exc:
        raise Conflict(f"conflicting write: {_first_line(exc.orig)}") from exc
    except DataError as exc:
        # A value the database cannot hold (e.g. NUL in PostgreSQL text) is the
        # caller's to fix, not an outage; the request gate stops most earlier.
        raise InvalidInput(f"the store cannot hold this value: {_first_line(exc.orig)}") from exc
    except SQLAlchemyError as exc:
        # The full statement goes to the log, never to the client.
        log.error("store error: %s", exc)
        raise StoreError(f"store error ({type(exc).__name__}); it has been logged") from exc


def utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything we store is UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class SqlBase:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """One transactional scope: commit or roll back, and speak Tandem's errors."""
        with store_errors(), self.engine.begin() as conn:
            yield conn

    def _all(self, query: sa.Select[*Ts]) -> Sequence[Row[*Ts]]:
        """Every row of `query`, read in a transaction of its own."""
        with self._tx() as conn:
            return conn.execute(query).all()


def row_by_id(conn: Connection, table: sa.Table, key: str, what: str) -> RowMapping:
    """The row of `table` whose id is `key`; NotFound naming `what` when none is."""
    row = conn.execute(sa.select(table).where(table.c.id == key)).mappings().first()
    if row is None:
        raise NotFound(f"no {what} with id {key!r}")
    return row


def of_model(column: ColumnElement[Any], model: str | None) -> list[ColumnElement[bool]]:
    """The condition `column == model`; none when every model is wanted."""
    return [] if model is None else [column == model]


def in_window(
    column: ColumnElement[datetime], since: datetime | None, until: datetime | None
) -> list[ColumnElement[bool]]:
    """The conditions `since <= column < until`; an open end adds none."""
    conditions: list[ColumnElement[bool]] = []
    if since is not None:
        conditions.append(column >= since)
    if until is not None:
        conditions.append(column < until)
    return conditions
