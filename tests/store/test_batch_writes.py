"""Batched writes and the intake ledger, on the real store (SQLite or PostgreSQL)."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tandem.domain import Intake, Prediction, ReviewItem, Suggestion
from tandem.errors import Conflict, InvalidInput, StoreError, StoreUnavailable
from tandem.store.base import LogEntry, Store
from tandem.store.sql_base import store_errors
from tandem.store.sql_batch import SqlBatchLog
from tests.rows import intake_rows, settled

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def prediction(pid: str, at: datetime = T0, model: str = "m") -> Prediction:
    return Prediction(
        id=pid,
        created_at=at,
        model=model,
        model_version="v1",
        input={"title": "t", "body": "ünïcode \u2028 <script>"},
        features={"x": 1.5},
        label="good",
        confidence=0.55,
        alternatives=[{"label": "good", "probability": 0.55}],
        explanation=[{"feature": "x", "value": 1.5, "contribution": 0.2}],
        suggestions=[Suggestion("do_y", "x", "Do y.", 1.0, {"low": 2.0, "high": 3.0}).as_dict()],
        route="review",
        latency_ms=0.4,
    )


def answered(pid: str, at: datetime = T0, model: str = "m") -> LogEntry:
    review = ReviewItem(f"r{pid}", pid, "pending", at, "low_confidence")
    intake = Intake(f"i{pid}", at, model, "answered", 200, pid)
    return LogEntry(prediction(pid, at, model), review, intake)


def failed(iid: str, at: datetime = T0, model: str | None = "m") -> LogEntry:
    return LogEntry(intake=Intake(iid, at, model, "failed", 404, None, "unknown_model", "no"))


def break_store(store: Store, table: str = "intake") -> None:
    """Make the store fail the next write the way an outage would (OperationalError):
    PostgreSQL drops every connection (a restart); SQLite loses `table`."""
    engine = store.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        else:
            conn.execute(sa.text(f"ALTER TABLE {table} RENAME TO {table}_away"))


def mend_store(store: Store, table: str = "intake") -> None:
    engine = store.engine  # type: ignore[attr-defined]
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            conn.execute(sa.text(f"ALTER TABLE {table}_away RENAME TO {table}"))


def test_a_batch_is_stored_whole(store: Store) -> None:
    store.add_predictions([answered("p1"), answered("p2"), failed("f1")])
    assert store.get_prediction("p2") == prediction("p2")
    assert store.get_review("rp1").prediction_id == "p1"
    assert store.intake_counts() == settled(answered=2, failed=1)


def test_a_refused_batch_leaves_nothing(store: Store) -> None:
    store.add_predictions([answered("p1")])
    with pytest.raises(Conflict):
        store.add_predictions([answered("p2"), answered("p1")])  # p1 exists already
    assert store.count_predictions() == 1
    assert store.intake_counts()["received"] == 1


def test_ledger_and_predictions_count_the_same_window(store: Store) -> None:
    minute = timedelta(minutes=1)
    store.add_predictions(
        [
            answered("p1", T0),
            answered("p2", T0 + minute),
            answered("p3", T0 + 2 * minute, model="other"),
            failed("f1", T0 + minute),
            failed("f2", T0 + minute, model=None),
        ]
    )
    since, until = T0 + minute, T0 + 3 * minute
    assert store.intake_counts(since, until) == settled(answered=2, failed=2)
    assert store.intake_counts(since, until, model="m")["received"] == 2
    assert len(store.list_prediction_ids(since, until)) == 2
    assert len(store.list_prediction_ids(since, until, model="m")) == 1
    assert len(store.list_prediction_ids(until=since)) == 1
    assert sorted(store.list_prediction_ids(since, until)) == ["p2", "p3"]


def test_ledger_shows_an_answer_whose_prediction_is_missing(store: Store) -> None:
    store.add_predictions([answered("p1"), answered("p2")])
    with store.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(sa.text("DELETE FROM review_items WHERE prediction_id = 'p2'"))
        conn.execute(sa.text("DELETE FROM predictions WHERE id = 'p2'"))
    assert store.intake_counts()["answered_unlogged"] == 1


def test_batch_log_writes_on_its_own_connection(store: Store) -> None:
    log = SqlBatchLog(store.engine)  # type: ignore[attr-defined]
    try:
        log.write([answered("p1"), failed("f1")])
        log.write([answered("p2")])
    finally:
        log.close()
    assert store.count_predictions() == 2
    assert store.intake_counts()["received"] == 3
    assert [i.id for i in intake_rows(store)] == ["f1", "ip1", "ip2"]  # by time, then id
    assert intake_rows(store, limit=1)[0] == failed("f1").intake


def test_batch_log_tells_refused_data_from_an_unavailable_store(store: Store) -> None:
    log = SqlBatchLog(store.engine)  # type: ignore[attr-defined]
    try:
        log.write([answered("p1")])
        with pytest.raises(Conflict):
            log.write([answered("p1")])
        log.write([answered("p2")])  # the connection is usable after a refused batch
        break_store(store)
        with pytest.raises(StoreUnavailable):
            log.write([answered("p3")])
        mend_store(store)
        log.write([answered("p4")])  # and after an outage, on a new connection
    finally:
        log.close()
    assert sorted(store.list_prediction_ids()) == ["p1", "p2", "p4"]


def test_data_the_store_cannot_hold_is_invalid_input_on_every_write_path(store: Store) -> None:
    engine = store.engine  # type: ignore[attr-defined]
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite stores any length in a VARCHAR column")
    too_long = failed("f" * 40)  # the id column holds 32 characters
    log = SqlBatchLog(engine)
    try:
        with pytest.raises(InvalidInput, match="cannot hold this value"):
            log.write([too_long])
        log.write([failed("f1")])  # the connection is usable afterwards
    finally:
        log.close()
    with pytest.raises(InvalidInput, match="cannot hold this value"):
        store.add_predictions([too_long])
    assert store.intake_counts()["failed"] == 1


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (sa.exc.OperationalError, StoreUnavailable),
        (sa.exc.IntegrityError, Conflict),
        (sa.exc.DataError, InvalidInput),
        (sa.exc.ProgrammingError, StoreError),
    ],
)
def test_driver_errors_become_tandem_errors(
    raised: type[sa.exc.DBAPIError], expected: type[Exception]
) -> None:
    with pytest.raises(expected) as caught, store_errors():
        raise raised("INSERT ...", {}, Exception("refused"))
    assert type(caught.value) is expected and "INSERT" not in str(caught.value)


def test_sqlite_log_is_checkpointed_off_the_writer(store: Store) -> None:
    engine = store.engine  # type: ignore[attr-defined]
    if engine.dialect.name != "sqlite":
        pytest.skip("WAL checkpoints are SQLite's; PostgreSQL checkpoints by itself")
    database = Path(engine.url.database)
    before = database.stat().st_size  # rows reach this file only through checkpoints
    log = SqlBatchLog(store.engine)  # type: ignore[attr-defined]
    assert isinstance(log, SqlBatchLog) and log._checkpointer is not None
    try:
        for b in range(12):
            log.write([answered(f"p{b}-{i}") for i in range(100)])
        pragma = log._connection().exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
        assert pragma == 0  # the writer's commits never checkpoint
    finally:
        log.close()  # the checkpointer copies what is left, then stops
    assert log._checkpointer.checkpoints >= 1
    assert database.stat().st_size > before
    assert store.count_predictions() == 1200


def test_sqlite_batch_waits_for_another_writers_lock(store: Store) -> None:
    engine = store.engine  # type: ignore[attr-defined]
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL writers do not take a database-wide lock")
    holding, release = threading.Event(), threading.Event()

    def other_process_commits() -> None:  # another worker, mid-commit
        conn = sqlite3.connect(engine.url.database, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        holding.set()
        release.wait(10)
        conn.execute("COMMIT")
        conn.close()

    other = threading.Thread(target=other_process_commits)
    other.start()
    holding.wait(10)
    log = SqlBatchLog(store.engine)  # type: ignore[attr-defined]
    try:
        threading.Timer(0.2, release.set).start()
        log.write([answered("p1")])  # waits for the lock instead of failing at once
    finally:
        release.set()
        other.join(10)
        log.close()
    assert store.list_prediction_ids() == ["p1"]
