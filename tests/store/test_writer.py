"""The group-commit writer, in a thread and in a process of its own: acknowledged
means stored, batches share commits, and a failure reaches exactly the requests it
concerns."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from dataclasses import replace

import pytest

from tandem.errors import StoreError, StoreUnavailable, TandemError
from tandem.store import open_store
from tandem.store.base import Store
from tandem.store.sql_batch import SqlBatchLog
from tandem.store.writer import GroupCommitWriter, WriterStopped
from tandem.store.writer_process import ProcessWriter
from tests.rows import settled
from tests.store.test_batch_writes import answered, break_store, failed, mend_store

Writer = GroupCommitWriter | ProcessWriter


@pytest.fixture(params=["thread", "process"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _url(store: Store) -> str:
    return str(store.engine.url.render_as_string(hide_password=False))  # type: ignore[attr-defined]


def _writer(store: Store, kind: str = "thread") -> Writer:
    if kind == "process":
        return ProcessWriter(_url(store))
    return GroupCommitWriter(lambda: SqlBatchLog(store.engine))  # type: ignore[attr-defined]


async def _write_all(writer: Writer, store: Store, ids: list[str]) -> list[object]:
    async def one(pid: str) -> object:
        try:
            await writer.write(answered(pid))
        except StoreError as exc:
            return exc
        # Acknowledged = stored: readable on another connection the moment it returns.
        assert store.get_prediction(pid).id == pid
        return None

    return await asyncio.gather(*(one(pid) for pid in ids))


def test_concurrent_writes_share_commits(store: Store, kind: str) -> None:
    writer = _writer(store, kind)
    try:
        outcomes = asyncio.run(_write_all(writer, store, [f"p{i}" for i in range(300)]))
    finally:
        writer.close()
    assert outcomes == [None] * 300
    assert store.count_predictions() == 300 and writer.entries == 300
    assert writer.batches < 300  # requests that queued together were committed together


def test_refused_entry_fails_alone(store: Store, kind: str) -> None:
    store.add_predictions([answered("dup")])
    writer = _writer(store, kind)
    try:
        ids = [f"p{i}" for i in range(20)] + ["dup"] + [f"q{i}" for i in range(20)]
        outcomes = asyncio.run(_write_all(writer, store, ids))
    finally:
        writer.close()
    errors = {pid: out for pid, out in zip(ids, outcomes, strict=True) if out is not None}
    assert list(errors) == ["dup"]
    assert isinstance(errors["dup"], StoreError) and errors["dup"].status == 503
    assert "could not be stored" in errors["dup"].message
    assert store.count_predictions() == 41


def test_unavailable_store_fails_the_batch_and_not_later_ones(store: Store, kind: str) -> None:
    writer = _writer(store, kind)

    async def scenario() -> None:
        await writer.write(answered("p0"))
        break_store(store)
        with pytest.raises(StoreUnavailable, match="not answered"):
            await writer.write(answered("p1"))
        mend_store(store)
        await writer.write(answered("p2"))  # the writer carries on once the store is back

    try:
        asyncio.run(scenario())
    finally:
        writer.close()
    assert sorted(store.list_prediction_ids()) == ["p0", "p2"]


def test_a_loaded_writer_process_waits_for_company(store: Store) -> None:
    """A lone entry goes at once; under load a batch waits for `linger_batch` entries
    or `linger_s`, whichever comes first."""
    writer = ProcessWriter(_url(store), linger_s=1.0, linger_batch=4)

    async def scenario() -> tuple[float, float]:
        # The first goes alone at once; the two behind it go together: the writer is loaded.
        await asyncio.gather(*(writer.write(answered(f"a{i}")) for i in range(3)))
        batches, started = writer.batches, time.monotonic()
        await asyncio.gather(*(writer.write(answered(f"b{i}")) for i in range(4)))
        filled = time.monotonic() - started  # the fourth filled the batch: no waiting
        assert writer.batches == batches + 1
        started = time.monotonic()
        await writer.write(answered("c0"))  # alone under load: waits out the linger
        return filled, time.monotonic() - started

    try:
        filled, lone = asyncio.run(scenario())
    finally:
        writer.close()
    assert filled < 1.0 <= lone
    assert store.count_predictions() == 8


def test_close_writes_everything_queued_then_refuses(store: Store, kind: str) -> None:
    writer = _writer(store, kind)

    async def scenario() -> None:
        pending = [asyncio.ensure_future(writer.write(failed(f"f{i}"))) for i in range(50)]
        await asyncio.sleep(0)  # every write is queued
        await asyncio.to_thread(writer.close)
        await asyncio.gather(*pending)
        with pytest.raises(WriterStopped):
            await writer.write(failed("late"))

    asyncio.run(scenario())
    assert store.intake_counts()["failed"] == 50


def test_the_prediction_log_writes_through_its_writer_until_closed(store: Store, kind: str) -> None:
    """What serving sees: `await log.write(entry)`; closing the log writes what is
    queued, then refuses."""
    log = open_store(_url(store), migrate=False)

    async def scenario() -> None:
        log.start(process=kind == "process")  # as a server's start-up does
        await log.write(answered("p0"))
        assert store.get_prediction("p0").id == "p0"  # acknowledged = stored
        pending = [asyncio.ensure_future(log.write(failed(f"f{i}"))) for i in range(20)]
        await asyncio.sleep(0)
        await asyncio.to_thread(log.close)
        await asyncio.gather(*pending)
        with pytest.raises(WriterStopped):
            await log.write(failed("late"))

    asyncio.run(scenario())
    assert store.intake_counts() == settled(answered=1, failed=20)


def test_a_refused_write_is_answered_without_its_sql(store: Store, kind: str) -> None:
    """The statement and its values go to the log, never into the answer (a label
    longer than the column once came back with the whole COPY statement)."""
    entry = answered("long")
    assert entry.prediction is not None
    entry = replace(entry, prediction=replace(entry.prediction, label="x" * 101))
    writer = _writer(store, kind)

    async def write() -> TandemError | None:
        try:
            await writer.write(entry)
        except TandemError as exc:
            return exc
        return None

    try:
        error = asyncio.run(write())
    finally:
        writer.close()
    if store.engine.dialect.name == "sqlite":  # type: ignore[attr-defined]
        assert error is None  # SQLite does not enforce VARCHAR lengths
        return
    # The writer's batch failed as a whole: the request is not answered (503), and the
    # message carries the database's one-line reason only.
    assert error is not None and error.status == 503 and "could not be stored" in error.message
    for leaked in ("SQL", "COPY", "INSERT", "x" * 20):
        assert leaked not in error.message, error.message


def test_a_dead_writer_process_fails_its_requests_and_is_replaced(store: Store) -> None:
    """A writer process that dies (killed, out of memory) takes nothing down with it:
    every request it had not answered fails with WriterStopped instead of waiting for
    ever, writes fail at once for a moment, then the next write starts a new child."""
    writer = ProcessWriter(_url(store), respawn_after_s=0.5)

    async def scenario() -> tuple[int, int]:
        await writer.write(answered("p0"))
        first = writer.pid
        assert first is not None
        os.kill(first, signal.SIGSTOP)  # holds the next batch unanswered
        pending = [writer.write(answered(f"p{i}")) for i in range(1, 6)]
        os.kill(first, signal.SIGKILL)
        for future in pending:
            with pytest.raises(WriterStopped, match="writer stopped; see the server log"):
                await asyncio.wait_for(future, 30)
        with pytest.raises(WriterStopped, match="writer stopped"):
            await writer.write(answered("too-soon"))  # not restarted in a loop
        await asyncio.sleep(0.6)
        await writer.write(answered("later"))  # a new child
        assert writer.pid is not None
        return first, writer.pid

    try:
        first, second = asyncio.run(scenario())
    finally:
        writer.close()
    assert first != second
    assert {"p0", "later"} <= set(store.list_prediction_ids())
    assert "too-soon" not in store.list_prediction_ids()
    with pytest.raises(ProcessLookupError):
        os.kill(first, 0)  # the dead child was reaped


def test_a_writer_process_opens_the_store_itself(store: Store) -> None:
    """The child is its own process: what it commits is there for every other
    connection, and it stops when the writer is closed."""
    writer = ProcessWriter(_url(store))

    async def scenario() -> int:
        writer.start()
        await asyncio.gather(*(writer.write(answered(f"p{i}")) for i in range(40)))
        assert writer.pid is not None and writer.pid != os.getpid()
        return writer.pid

    pid = asyncio.run(scenario())
    writer.close()
    assert store.count_predictions() == 40 and writer.entries == 40
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # gone, not a zombie left behind


@pytest.mark.parametrize(
    ("url", "memory"),
    [
        ("sqlite://", True),
        ("sqlite:///:memory:", True),
        ("sqlite:///file:shared?mode=memory&cache=shared&uri=true", True),
        ("sqlite:////tmp/tandem.db", False),
        ("postgresql+psycopg://u@localhost/tandem", False),
    ],
)
def test_only_a_store_on_disk_or_a_server_gets_a_writer_process(url: str, memory: bool) -> None:
    """An in-memory SQLite database lives in one process: its writer stays a thread."""
    import sqlalchemy as sa

    from tandem.store.engine import in_memory

    assert in_memory(sa.engine.make_url(url)) is memory
