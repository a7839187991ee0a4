"""Model code in worker processes, so that nothing it does can stall the server.

A thread cannot be interrupted, and Python code (a regex that backtracks for ever, a
native loop that never releases the GIL) holds the interpreter lock: on a thread it
stalls the event loop, every other request and /healthz. In its own process it stalls
only itself. So each server process keeps a pool of worker processes, forked from a
forkserver (cheap, and no state of the server's is inherited), and:

- a call goes to an idle worker, with the model's input as it is logged; each worker
  loads the served versions itself, from the artifact store, when it starts (and any
  other version the first time a call needs it);
- the budget covers waiting for a free worker and the call: past it the caller moves
  on (to the fallback, reason `busy` or `timeout`); a worker still busy
  `KILL_MARGIN_S` later is SIGKILLed and a new one takes its place;
- a worker that dies (a segfault, an abort) fails its call at once and is replaced;
- model calls may occupy `size` workers; one more is kept for fallbacks, which are
  served first, so a pool full of runaway calls still answers with the fallback.

The event loop only writes and reads small frames on a socket per worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import pickle
import signal
import socket
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tandem.models.artifacts import ArtifactStore
from tandem.models.interface import FallbackAnswer, ModelFamily, Predictor
from tandem.models.scoring import Answer, score_logged
from tandem.predict.guard import Busy

log = logging.getLogger("tandem")

KILL_MARGIN_S = 2.0
"""How long past its budget a call may keep its worker before the worker is killed:
long enough for a slow call to finish and free its worker on its own, short enough that
a runaway one gives its CPU back soon."""
START_TIMEOUT_S = 60.0  # a worker's start and loading of the served versions
MAX_FRAME = 256 * 1024 * 1024
Key = tuple[str, str]  # (model, version)


class ModelError(Exception):
    """Model code raised in a worker; `kind` is the exception's type name there."""

    def __init__(self, kind: str, text: str) -> None:
        super().__init__(text)
        self.kind = kind


class WorkerCrashed(Exception):
    """The worker died during the call (a segfault, an abort, out of memory)."""


@dataclass(frozen=True)
class Source:
    """How a worker loads a version itself: the family's own `load`, on the artifact."""

    family: ModelFamily
    artifacts: Path
    sha256: str
    version: str

    def load(self) -> Predictor:
        return self.family.load(ArtifactStore(self.artifacts).get(self.sha256), self.version)


# -- the worker process ------------------------------------------------------------


def _send(sock: socket.socket, obj: object) -> None:
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(len(payload).to_bytes(4, "big") + payload)


def _recv_exactly(sock: socket.socket, n: int) -> bytes | None:
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        k = sock.recv_into(view[got:])
        if k == 0:
            return None
        got += k
    return bytes(buf)


def _work(sock: socket.socket) -> None:
    """A worker's life: load on demand, answer one call at a time, stop at EOF."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
    loaded: dict[Key, Predictor] = {}
    _send(sock, ("ready", os.getpid()))
    while True:
        header = _recv_exactly(sock, 4)
        payload = None if header is None else _recv_exactly(sock, int.from_bytes(header, "big"))
        if payload is None:
            return  # the server closed its end: it stopped, or it replaced us
        kind, key, source, logged_input = pickle.loads(payload)
        try:
            predictor = loaded.get(key)
            if predictor is None:
                if source is None:
                    raise LookupError(f"model {key} was never sent to this worker")
                predictor = loaded[key] = pickle.loads(source).load()
            result: Answer | FallbackAnswer | None = None
            if kind == "score":
                result = score_logged(predictor, logged_input)
            elif kind == "fallback":
                result = predictor.fallback(predictor.input_schema.model_validate(logged_input))
            _send(sock, ("ok", result))
        except Exception as exc:  # the model's own failure, whatever it is
            _send(sock, ("error", type(exc).__name__, repr(exc)[:500]))


# -- the server's side -------------------------------------------------------------


class _Worker:
    def __init__(
        self,
        proc: multiprocessing.process.BaseProcess,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.proc = proc
        self.reader = reader
        self.writer = writer
        self.sent: set[Key] = set()  # versions this worker was given
        self.call: asyncio.Future[tuple[Any, ...]] | None = None
        self.model_call = False
        self.kill_timer: asyncio.TimerHandle | None = None

    async def read_frame(self) -> tuple[Any, ...] | None:
        try:
            n = int.from_bytes(await self.reader.readexactly(4), "big")
            if n > MAX_FRAME:
                return None
            frame: tuple[Any, ...] = pickle.loads(await self.reader.readexactly(n))
            return frame
        except (asyncio.IncompleteReadError, ConnectionError):
            return None


class ProcessPool:
    def __init__(self, size: int, wanted: Callable[[], dict[Key, Source]]) -> None:
        """`size` workers for model calls (plus one kept for fallbacks); `wanted()`:
        the versions a new worker loads before it takes calls (those being served)."""
        self.size = size
        self.wanted = wanted
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload([__name__])
        self._workers: list[_Worker] = []
        self._model_calls = 0  # workers held by model calls (runaway ones included)
        self._model_waiters: deque[asyncio.Future[_Worker]] = deque()
        self._fallback_waiters: deque[asyncio.Future[_Worker]] = deque()
        self._started = False
        self._blobs: dict[Key, bytes | None] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    def can_host(self, key: Key, source: Source | None) -> bool:
        """Whether a worker can load this version (its family pickles)."""
        if key not in self._blobs:
            try:
                self._blobs[key] = None if source is None else pickle.dumps(source)
            except Exception as exc:
                self._blobs[key] = None
                log.warning("model %s %s cannot run in a worker process (%r)", *key, exc)
        return self._blobs[key] is not None

    async def start(self) -> None:
        """Start every worker, each loaded with the served versions."""
        self._started = True
        await asyncio.gather(*(self._add_worker() for _ in range(self.size + 1)))

    async def run(self, kind: str, key: Key, logged_input: dict[str, Any], budget_s: float) -> Any:
        """`kind` ("score" or "fallback") of version `key` on `logged_input`, in a worker,
        all within `budget_s` (waiting for a free worker included): Busy when no worker
        came free in time, TimeoutError when the call overran, ModelError when the
        model raised, WorkerCrashed when its worker died."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget_s
        worker = await self._acquire(kind != "score", budget_s)
        call = worker.call
        assert call is not None
        # Armed now, not on timeout: a request cancelled while it waits (its client
        # left) must not leave a runaway call holding the worker either.
        worker.kill_timer = loop.call_at(deadline + KILL_MARGIN_S, self._kill, worker, call)
        blob = None if key in worker.sent else self._blobs.get(key)
        worker.sent.add(key)
        frame = pickle.dumps((kind, key, blob, logged_input), protocol=pickle.HIGHEST_PROTOCOL)
        worker.writer.write(len(frame).to_bytes(4, "big") + frame)
        reply = await asyncio.wait_for(asyncio.shield(call), max(deadline - loop.time(), 0.0))
        if reply[0] == "ok":
            return reply[1]
        if blob is not None:
            worker.sent.discard(key)  # the load may have failed: send it again next time
        raise ModelError(reply[1], reply[2])

    async def _acquire(self, for_fallback: bool, timeout: float) -> _Worker:
        """A worker reserved for one call: an idle one now, or the first one freed
        within `timeout` (fallbacks are served before model calls)."""
        if not self._started:
            raise Busy()
        waiters = self._fallback_waiters if for_fallback else self._model_waiters
        if not waiters and (worker := self._idle(for_fallback)) is not None:
            self._reserve(worker, for_fallback)
            return worker
        handed: asyncio.Future[_Worker] = asyncio.get_running_loop().create_future()
        waiters.append(handed)
        try:
            await asyncio.wait({handed}, timeout=timeout)
        except BaseException:  # cancelled while waiting
            if handed.done():
                self._release(handed.result())  # handed a worker it will not use
            else:
                handed.cancel()
                waiters.remove(handed)
            raise
        if not handed.done():
            handed.cancel()
            waiters.remove(handed)
            raise Busy()
        return handed.result()

    def _idle(self, for_fallback: bool) -> _Worker | None:
        if not for_fallback and self._model_calls >= self.size:
            return None  # the last worker is kept for fallbacks
        return next((w for w in self._workers if w.call is None), None)

    def _reserve(self, worker: _Worker, for_fallback: bool) -> None:
        call: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()
        call.add_done_callback(_retrieve)
        worker.call, worker.model_call = call, not for_fallback
        self._model_calls += not for_fallback

    def _hand_off(self) -> None:
        """Give idle workers to whoever waits for one, fallbacks first."""
        for for_fallback, waiters in ((True, self._fallback_waiters), (False, self._model_waiters)):
            while waiters and (worker := self._idle(for_fallback)) is not None:
                handed = waiters.popleft()
                self._reserve(worker, for_fallback)
                handed.set_result(worker)

    def _kill(self, worker: _Worker, call: asyncio.Future[tuple[Any, ...]]) -> None:
        if worker.call is call and worker.proc.pid is not None:
            log.warning(
                "model worker %s overran its budget by %.1f s; killing it",
                worker.proc.pid,
                KILL_MARGIN_S,
            )
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.proc.pid, signal.SIGKILL)

    async def _add_worker(self) -> None:
        """Start a worker, load the served versions into it, then let it take calls."""
        parent, child = socket.socketpair()
        proc = self._ctx.Process(target=_work, args=(child,), name="tandem-model", daemon=True)
        try:
            await asyncio.to_thread(proc.start)
        finally:
            child.close()
        reader, writer = await asyncio.open_unix_connection(sock=parent)
        worker = _Worker(proc, reader, writer)
        try:
            ready = await asyncio.wait_for(worker.read_frame(), START_TIMEOUT_S)
            if ready is None or ready[0] != "ready":
                raise WorkerCrashed(f"model worker {proc.pid} died while starting")
            for key, source in self.wanted().items():
                if not self.can_host(key, source):
                    continue
                frame = pickle.dumps(("load", key, self._blobs[key], None))
                writer.write(len(frame).to_bytes(4, "big") + frame)
                reply = await asyncio.wait_for(worker.read_frame(), START_TIMEOUT_S)
                if reply is None:
                    raise WorkerCrashed(f"model worker {proc.pid} died loading {key}")
                if reply[0] == "ok":
                    worker.sent.add(key)
                else:
                    log.warning("a model worker could not load %s %s: %s", *key, reply[2])
        except BaseException:
            writer.close()
            await asyncio.to_thread(_reap, proc)
            raise
        if self._closed:
            writer.close()
            await asyncio.to_thread(_reap, proc)
            return
        self._workers.append(worker)
        self._spawn(self._serve(worker))
        self._hand_off()

    async def _serve(self, worker: _Worker) -> None:
        """Hand each reply to its call; when the worker dies, fail its call and
        replace it."""
        while (reply := await worker.read_frame()) is not None:
            call = worker.call
            self._release(worker)
            if call is not None and not call.done():
                call.set_result(reply)
        call = worker.call
        if worker in self._workers:  # not if the pool was closed meanwhile
            self._workers.remove(worker)
        self._release(worker)
        worker.writer.close()
        if call is not None and not call.done():
            call.set_exception(WorkerCrashed(f"model worker {worker.proc.pid} died"))
        if not self._closed:
            self._spawn(self._replace())
        await asyncio.to_thread(_reap, worker.proc)
        if not self._closed:
            log.warning(
                "model worker %s exited (%s); another takes its place",
                worker.proc.pid,
                worker.proc.exitcode,
            )

    async def _replace(self) -> None:
        try:
            await self._add_worker()
        except Exception:
            log.exception("could not start a model worker")

    def _release(self, worker: _Worker) -> None:
        if worker.kill_timer is not None:
            worker.kill_timer.cancel()
            worker.kill_timer = None
        if worker.call is not None:
            self._model_calls -= worker.model_call
            worker.call, worker.model_call = None, False
        self._hand_off()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Stop every worker (closing its socket ends it; a busy one is killed)."""
        self._closed = True
        workers, self._workers = self._workers, []
        for w in workers:
            w.writer.close()
            if w.call is not None and w.proc.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(w.proc.pid, signal.SIGKILL)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for w in workers:
            await asyncio.to_thread(_reap, w.proc)


def _reap(proc: multiprocessing.process.BaseProcess) -> None:
    """Wait for a worker's exit (SIGKILL if it does not go within a second)."""
    proc.join(1.0)
    if proc.exitcode is None:
        proc.kill()
        proc.join(5.0)


def _retrieve(call: asyncio.Future[tuple[Any, ...]]) -> None:
    """A call nobody waits for any more may still fail: not an unhandled error."""
    if not call.cancelled():
        call.exception()
