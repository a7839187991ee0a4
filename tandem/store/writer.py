"""The group-commit writer: one thread per process owns the store's write connection
and commits whatever requests queued up while its previous commit ran.

Why: a request's answer may only leave once its prediction is stored ("acknowledged
= stored"), but a commit per request costs a transaction each (SQLAlchemy's
begin/insert/commit ~0.5 ms on the event loop) and, on SQLite, several writers fight
for one lock. Here the event loop only enqueues an entry and awaits a future; the
thread writes batches of up to `max_batch` entries in one transaction and settles
every future of a batch after its commit (or with its error). A lone request is
committed at once; requests that arrive during a commit share the next one, and under
load a batch waits up to a millisecond for company (see LINGER_S).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tandem.errors import StoreError, StoreUnavailable, TandemError
from tandem.store.prediction_log import LogEntry

log = logging.getLogger("tandem")


class BatchLog(ABC):
    """A connection that does nothing but write batches of log entries, owned by the
    writer's thread: one writer per process is what keeps SQLite's lock uncontended,
    and a dedicated connection skips the pool on every batch."""

    @abstractmethod
    def write(self, entries: Sequence[LogEntry]) -> None:
        """Store every entry in one transaction, or none of them.

        Raise StoreUnavailable when the store cannot be reached or is locked (retrying
        entries one by one would fail the same way) and another TandemError (Conflict,
        InvalidInput, StoreError) when the data was refused (another entry of the
        batch may still be storable)."""

    @abstractmethod
    def close(self) -> None: ...


@dataclass(slots=True)
class _Job:
    entry: LogEntry
    future: asyncio.Future[None]


LINGER_S = 0.001
LINGER_BATCH = 8
"""Under load, a batch waits up to LINGER_S for LINGER_BATCH entries. A commit's cost
is mostly per transaction (SQLite's pages written to its log, PostgreSQL's flush):
measured on a text model's rows with SQLite, 246 µs of CPU an entry one at a time,
145 in pairs, 68 eight at a time. The writer thread's CPU is taken from the requests
on a small machine, so a millisecond's wait under load buys throughput; a lone
request (the last batch was one entry too) is committed at once."""

_STOP = None
_NOT_STORED = "the prediction could not be stored, so it is not answered (retry later): "


class WriterStopped(StoreError):
    """The writer has shut down; nothing more can be written through it."""


class GroupCommitWriter:
    """Owned by the store's prediction log (see PredictionLog.write); `open_log`
    gives the thread its connection when it starts."""

    def __init__(
        self,
        open_log: Callable[[], BatchLog],
        max_batch: int = 256,
        linger_s: float = LINGER_S,
        linger_batch: int = LINGER_BATCH,
    ) -> None:
        self.open_log = open_log
        self.max_batch = max_batch
        self.linger_s = linger_s
        self.linger_batch = linger_batch
        self._loaded = False  # the last batch had company: more requests are coming
        self.batches = 0  # committed batches and entries, for tests and benchmarks
        self.entries = 0
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def start(self) -> None:
        with self._lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="tandem-writer", daemon=True)
                self._thread.start()

    def write(self, entry: LogEntry) -> asyncio.Future[None]:
        """A future settled once `entry` is committed, with the store's error if it
        was not. A plain function handing out the future, not a coroutine: nothing
        more is allocated per request than the future itself."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._put(_Job(entry, future))
        return future

    def _put(self, job: _Job) -> None:
        if self._thread is None:
            self.start()
        with self._lock:  # so nothing can be queued behind the stop marker
            if self._closed:
                raise WriterStopped("the service is shutting down; retry on another instance")
            self._queue.put(job)

    def close(self, timeout: float = 30.0) -> None:
        """Stop taking entries, write every one already queued, and stop the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            self._queue.put(_STOP)
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.error("the store writer did not finish within %.0f s", timeout)

    # -- the writer thread ---------------------------------------------------
    def _run(self) -> None:
        batch_log: BatchLog | None = None
        try:
            batch_log = self.open_log()
            stopping = False
            while not stopping:
                jobs, stopping = self._collect(self._queue.get())
                if jobs:
                    self._write(batch_log, jobs)
        except BaseException:
            log.exception("the store writer stopped")
            with self._lock:
                self._closed = True
            self._fail_queued(WriterStopped("the store writer stopped; see the server log"))
            raise
        finally:
            if batch_log is not None:
                batch_log.close()

    def _collect(self, job: _Job | None) -> tuple[list[_Job], bool]:
        """The next batch, starting with `job`, and whether the stop marker came. Under
        load (the last batch was not a lone entry) it waits up to `linger_s` for
        `linger_batch` entries; a lone request is never held."""
        jobs: list[_Job] = []
        deadline: float | None = None
        while job is not _STOP:
            jobs.append(job)
            if len(jobs) >= self.max_batch:
                break
            try:
                job = self._queue.get_nowait()
                continue
            except queue.Empty:
                pass
            if not self._loaded or len(jobs) >= self.linger_batch:
                break
            if deadline is None:
                deadline = time.monotonic() + self.linger_s
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                job = self._queue.get(timeout=left)
            except queue.Empty:
                break
        self._loaded = len(jobs) > 1
        return jobs, job is _STOP

    def _write(self, batch_log: BatchLog, jobs: list[_Job]) -> None:
        outcomes, commits = write_batch(batch_log, [j.entry for j in jobs])
        self.batches += commits
        self.entries += outcomes.count(None)
        by_error: dict[int, tuple[TandemError | None, list[_Job]]] = {}
        for job, outcome in zip(jobs, outcomes, strict=True):
            by_error.setdefault(id(outcome), (outcome, []))[1].append(job)
        for error, settled in by_error.values():
            settle([j.future for j in settled], error)

    def _fail_queued(self, error: StoreError) -> None:
        jobs = []
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                jobs.append(job)
        settle([j.future for j in jobs], error)


def write_batch(
    batch_log: BatchLog, entries: Sequence[LogEntry]
) -> tuple[list[TandemError | None], int]:
    """Each entry's outcome (None: committed; else the error its request raises) and
    how many transactions committed. A batch whose data was refused is written again
    entry by entry, so one bad entry fails alone; an unreachable store fails them all
    at once (one by one would fail the same way, only slower)."""
    try:
        batch_log.write(entries)
    except StoreUnavailable as exc:
        return [StoreUnavailable(_NOT_STORED + exc.message)] * len(entries), 0
    except TandemError as exc:
        if len(entries) > 1:
            outcomes: list[TandemError | None] = []
            commits = 0
            for entry in entries:
                outcome, committed = write_batch(batch_log, [entry])
                outcomes += outcome
                commits += committed
            return outcomes, commits
        return [StoreError(_NOT_STORED + exc.message)], 0
    except Exception as exc:
        log.exception("unexpected error while writing a batch")
        return [StoreError(_NOT_STORED + repr(exc))] * len(entries), 0
    return [None] * len(entries), 1


def settle(futures: Sequence[asyncio.Future[None]], error: TandemError | None) -> None:
    """Hand each waiting request its outcome on its own event loop: one wake-up per
    loop per batch, not one per request. Called from any thread."""
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for future in futures:
        by_loop.setdefault(future.get_loop(), []).append(future)
    for loop, futures in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            loop.call_soon_threadsafe(_resolve, futures, error)


def _resolve(futures: list[asyncio.Future[None]], error: TandemError | None) -> None:
    for future in futures:
        if future.done():  # the request was cancelled (its client went away)
            continue
        if error is None:
            future.set_result(None)
        else:  # an exception object each: each request raises (and annotates) its own
            future.set_exception(type(error)(error.message))
