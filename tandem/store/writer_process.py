"""The group-commit writer in a process of its own: the same contract as
GroupCommitWriter ("acknowledged = stored", one transaction a batch), with the
batches built and committed outside the server process.

Why: in the server process the writer thread's Python work (rows, JSON, the batch's
feature blocks) takes the GIL from the event loop, and every hand-over between the two
threads costs the event loop more than the work itself. Here the event loop only
pickles entries into a pipe (the fields of the domain types taken in one C call, not
through dataclasses' own pickling) and reads the child's answers with a reader callback.

One batch at a time is with the child. Entries written while it commits wait in memory
(as they would in the writer thread's queue) and go to it together, as one message, as
soon as it answers: one pipe write and one wake-up of the child per batch, and the
batch grows with the load. Under load (the last batch had company) a batch also waits
up to LINGER_S for LINGER_BATCH entries, since each batch costs the child, the server
and the database a fixed share of CPU whatever its size (see LINGER_S).

If the child dies (killed, out of memory), every request waiting on it fails with
WriterStopped and a write a moment later starts a new child.
"""

from __future__ import annotations

import asyncio
import contextlib
import copyreg
import dataclasses
import io
import itertools
import logging
import multiprocessing
import operator
import pickle
import signal
import threading
import time
import typing
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from tandem.errors import StoreError, StoreUnavailable, TandemError
from tandem.store.prediction_log import LogEntry
from tandem.store.writer import LINGER_BATCH, WriterStopped, settle, write_batch

log = logging.getLogger("tandem")

_STOP = b""
_ERRORS: dict[str, type[TandemError]] = {
    cls.__name__: cls for cls in (StoreError, StoreUnavailable, WriterStopped)
}
_STOPPED = "the store writer stopped; see the server log"

LINGER_S = 0.002
"""How long, under load, a batch waits for LINGER_BATCH entries before it goes to the
child (TANDEM_LOG_LINGER_MS changes it). Each batch costs the server, the child and the
database a fixed share of CPU, so on a busy machine a little waiting buys throughput:
`benchmarks/load.py --linger-ms 0` against the default shows how much (docs/benchmarks.md,
Load)."""


def _fast_reducer(cls: type) -> Callable[[Any], tuple[type, tuple[Any, ...]]] | None:
    """Pickle a dataclass as its class and its fields' values, read by one attrgetter:
    a third of the cost of dataclasses' own `__getstate__`, which walks `fields()`
    for every object. None for a class whose fields are not all constructor arguments."""
    fields = dataclasses.fields(cls)
    if not all(f.init for f in fields):
        return None
    get = operator.attrgetter(*(f.name for f in fields))
    if len(fields) == 1:
        return lambda obj: (cls, (get(obj),))
    return lambda obj: (cls, get(obj))


def _dispatch_table() -> dict[type, Any]:
    """copyreg's table plus a fast reducer for LogEntry and each dataclass it holds."""
    classes: list[type] = [LogEntry]
    for hint in typing.get_type_hints(LogEntry).values():
        for arg in (hint, *typing.get_args(hint)):  # `X | None`, `tuple[X, ...]`
            if isinstance(arg, type) and dataclasses.is_dataclass(arg):
                classes.append(arg)
    table: dict[type, Any] = dict(copyreg.dispatch_table)
    for cls in classes:
        reducer = _fast_reducer(cls)
        if reducer is not None:
            table[cls] = reducer
    return table


_TABLE = _dispatch_table()


def encode(jobs: list[tuple[int, LogEntry]]) -> bytes:
    """One message to the child: each entry with the number its answer comes back by."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _TABLE
    pickler.dump(jobs)
    return buffer.getvalue()


class ProcessWriter:
    """A child process that owns the store's write connection. `url` names the store
    (a file or a server: the child opens it itself).

    The child's acknowledgements are read on the event loop that started the writer
    (a reader callback, no thread: any second thread wanting the GIL costs the event
    loop more than the callback's work); a request on another loop is settled through
    that loop's thread-safe call."""

    def __init__(
        self,
        url: str,
        max_batch: int = 256,
        respawn_after_s: float = 1.0,
        linger_s: float = LINGER_S,
        linger_batch: int = LINGER_BATCH,
    ) -> None:
        self.url = url
        self.max_batch = max_batch
        self.linger_s = linger_s
        self.linger_batch = linger_batch
        self.respawn_after_s = respawn_after_s
        """A child that died is replaced on the first write after this long; until then
        writes fail at once (a child that cannot start is not restarted in a loop)."""
        self.batches = 0  # committed batches and entries, for tests and benchmarks
        self.entries = 0
        self._lock = threading.Lock()
        self._seq = itertools.count()
        self._waiting: dict[int, asyncio.Future[None]] = {}
        self._pending: list[tuple[int, LogEntry]] = []  # waiting for the child's answer
        self._in_flight = 0  # messages the child has not answered yet
        self._process: Any = None
        self._to_child: Connection | None = None
        self._acks: Connection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._died_at: float | None = None  # when the last child died unasked
        self._loaded = False  # the last batch had company: more entries are coming
        self._timer: asyncio.TimerHandle | None = None  # a lingering batch's deadline

    @property
    def pid(self) -> int | None:
        return None if self._process is None else int(self._process.pid)

    def start(self) -> None:
        """Start the child now, from the event loop that will read its answers (from
        anywhere else the first write starts it)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        with self._lock:
            if self._process is None and not self._closed:
                self._spawn(loop)

    def _spawn(self, loop: asyncio.AbstractEventLoop) -> None:
        ctx = multiprocessing.get_context("spawn")
        entries_in, entries_out = ctx.Pipe(duplex=False)
        acks_in, acks_out = ctx.Pipe(duplex=False)
        process = ctx.Process(
            target=_child_main,
            args=(self.url, entries_in, acks_out, self.max_batch),
            name="tandem-writer",
            daemon=True,
        )
        process.start()
        entries_in.close()  # the child's ends: EOF reaches each side when the other goes
        acks_out.close()
        self._process, self._to_child, self._acks, self._loop = process, entries_out, acks_in, loop
        loop.add_reader(acks_in.fileno(), self._read_acks)

    def write(self, entry: LogEntry) -> asyncio.Future[None]:
        """A future settled once `entry` is committed, with the store's error if it
        was not (see GroupCommitWriter.write). One batch at a time is with the child:
        an entry written while it is busy waits for its answer and then goes with
        every other such entry, in one message (one pipe write, one wake-up)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self._process is None and not self._closed:
                if (
                    self._died_at is not None
                    and time.monotonic() - self._died_at < self.respawn_after_s
                ):
                    raise WriterStopped(_STOPPED)
                self._spawn(loop)
            if self._closed or self._to_child is None:
                raise WriterStopped("the service is shutting down; retry on another instance")
            seq = next(self._seq)
            self._waiting[seq] = future
            self._pending.append((seq, entry))
            if self._in_flight == 0:
                self._send_or_linger(loop)
        return future

    def _send_or_linger(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Under the lock, with no batch at the child: send the pending entries now,
        unless the writer is loaded and they are fewer than `linger_batch`; then the
        first of them sets a timer (on the reading loop only) and they go when it
        fires or the batch fills."""
        if (
            self._loaded
            and len(self._pending) < self.linger_batch
            and self.linger_s > 0
            and loop is not None
            and loop is self._loop
        ):
            if self._timer is None:
                self._timer = loop.call_later(self.linger_s, self._linger_over)
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._send_pending()

    def _linger_over(self) -> None:
        with self._lock:
            self._timer = None
            if self._pending and self._in_flight == 0 and self._to_child is not None:
                self._send_pending()

    def _send_pending(self) -> None:
        """Under the lock: the pending entries to the child as one message, or each
        failed at once when the child is gone (its end of file fails those sent
        earlier)."""
        jobs, self._pending = self._pending, []
        self._loaded = len(jobs) > 1
        try:
            if self._to_child is None:
                raise OSError("closed")
            self._to_child.send_bytes(encode(jobs))
            self._in_flight += 1
        except OSError:
            for seq, _ in jobs:
                future = self._waiting.pop(seq, None)
                if future is not None:
                    settle([future], WriterStopped(_STOPPED))

    def _read_acks(self) -> None:
        """On the loop: settle the requests of every batch the child has answered."""
        acks = self._acks
        if acks is None:
            return
        try:
            while acks.poll(0):
                seqs, failed, commits, answered = pickle.loads(acks.recv_bytes())
                with self._lock:
                    self._in_flight -= answered
                    if self._pending and self._in_flight == 0 and self._to_child is not None:
                        self._send_or_linger(self._loop)  # before settling this batch
                self._settle(seqs, failed, commits)
        except (EOFError, OSError):
            self._child_gone(acks)

    def _settle(self, seqs: list[int], failed: list[tuple[int, str, str]], commits: int) -> None:
        errors = {seq: _ERRORS.get(name, StoreError)(message) for seq, name, message in failed}
        with self._lock:
            futures = [(self._waiting.pop(seq, None), errors.get(seq)) for seq in seqs]
        self.batches += commits
        self.entries += len(seqs) - len(errors)
        for future, error in futures:
            if future is None or future.done():  # a request whose client went away
                continue
            if future.get_loop() is not self._loop:
                settle([future], error)
            elif error is None:
                future.set_result(None)
            else:
                future.set_exception(error)

    def _child_gone(self, acks: Connection) -> None:
        """The child's end of file: after close() it exited in order; otherwise it died,
        and its requests fail (their entries may or may not be stored) while the next
        write after `respawn_after_s` starts a new child."""
        if self._loop is not None:
            self._loop.remove_reader(acks.fileno())
        acks.close()
        with self._lock:
            died = not self._closed
            process, to_child = self._process, self._to_child
            if died:
                self._process = self._to_child = None
                self._died_at = time.monotonic()
            self._acks = None
            self._in_flight = 0
            waiting = list(self._waiting.values())
            self._waiting.clear()
            self._pending.clear()
        if died:
            if to_child is not None:
                to_child.close()
            if process is not None:
                process.join(0)  # reaped, not left a zombie
            log.error(
                "the store writer process stopped (exit code %s) with %d entries unanswered;"
                " the next write starts a new one",
                None if process is None else process.exitcode,
                len(waiting),
            )
        if waiting:
            settle(waiting, WriterStopped(_STOPPED))

    def close(self, timeout: float = 30.0) -> None:
        """Stop taking entries, let the child write every one already sent, and wait
        for it to exit (its last answers are read on the loop, as before)."""
        with self._lock:
            if self._closed and self._to_child is None:
                return
            self._closed = True
            if self._pending:
                self._send_pending()
            to_child, self._to_child = self._to_child, None
            if to_child is not None:
                with contextlib.suppress(OSError):
                    to_child.send_bytes(_STOP)
                to_child.close()
        process = self._process
        if process is not None:
            process.join(timeout)
            if process.is_alive():
                log.error("the store writer did not finish within %.0f s", timeout)
                process.kill()
                process.join(5)


def _child_main(
    url: str,
    entries: Connection,
    acks: Connection,
    max_batch: int,
) -> None:
    """The child: write what the server sent in one transaction (at most `max_batch`
    entries each) and send back each entry's outcome.

    It ignores Ctrl-C: the server stops it in order, after its last requests."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from tandem.store.engine import make_engine
    from tandem.store.sql_batch import SqlBatchLog

    engine = make_engine(url)
    batch_log = SqlBatchLog(engine)
    stopping = False
    try:
        while not stopping:
            frames: list[bytes] = []
            try:
                frames.append(entries.recv_bytes())
                while frames[-1] != _STOP and entries.poll(0):  # more only from a second loop
                    frames.append(entries.recv_bytes())
            except EOFError:  # the server is gone: write what came, then stop
                frames.append(_STOP)
            if frames[-1] == _STOP:
                stopping = True
                frames.pop()
            jobs: list[tuple[int, LogEntry]] = [job for f in frames for job in pickle.loads(f)]
            for start in range(0, len(jobs), max_batch):
                batch = jobs[start : start + max_batch]
                last = start + max_batch >= len(jobs)  # this answer completes the messages
                outcomes, commits = write_batch(batch_log, [entry for _, entry in batch])
                failed = [
                    (seq, type(error).__name__, error.message)
                    for (seq, _), error in zip(batch, outcomes, strict=True)
                    if error is not None
                ]
                seqs = [seq for seq, _ in batch]
                answered = len(frames) if last else 0
                acks.send_bytes(pickle.dumps((seqs, failed, commits, answered)))
    except Exception:
        log.exception("the store writer process stopped")
        raise
    finally:
        batch_log.close()
        engine.dispose()
        acks.close()
