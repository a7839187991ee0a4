"""Model code in worker processes, so that nothing it does can stall the server.

A thread cannot be interrupted, and Python code (a regex that backtracks for ever, a
native loop that never releases the GIL) holds the interpreter lock: on a thread it
stalls the event loop, every other request and /healthz. In its own process it stalls
only itself. So a server process that serves a model with process isolation keeps one
pool of worker processes:

- the pool starts when such a model is first called, not before (an app whose models
  all run on threads starts no process), and it is shared by every app in the process;
  the last app to shut down stops its workers (or the interpreter's exit does);
- workers are forked from a zygote, a process of ours that imported the model code once
  and stays until the server exits: a worker starts in milliseconds and inherits
  nothing of the server's;
- a call goes to an idle worker with the model's input as it is logged, and the answer
  comes back as plain numbers and strings; a worker loads a version (keyed by its
  artifact's digest) the first time it is asked to score it, and keeps the
  `MAX_LOADED` it used last;
- the budget covers waiting for a free worker and the call; past it the caller moves
  on (to the fallback, reason `busy` or `timeout`). A worker still busy `KILL_MARGIN_S`
  later is SIGKILLed and a new one takes its place; one that dies (a segfault, an
  abort) fails its call at once and is replaced. A worker's first load of a version,
  and the start of a worker a call waits for, are not charged to the budget;
- model calls may occupy `size` workers; one more is kept for fallbacks, which are
  served first, so a pool full of runaway calls still answers with the fallback.
  Workers start as calls need them: two at first, one more whenever none is idle;
- calls that queued for the same version while every worker was busy go to the next
  free worker together, as one frame and one reply (up to `MAX_BATCH`): the hand-offs
  and wake-ups of a call, on both sides, are most of what the hop costs. Nothing waits
  to be batched: a call that finds a worker idle goes alone. The worker scores each
  input on its own, so one that raises fails only its own call; if the worker dies
  during a batch, its calls are queued again one by one, within their budgets.

One thread (`tandem-model-io`) reads every worker's replies and hands a freed worker
the next queued call at once; the event loop only pickles the input, writes a frame,
and unpickles the answer. Nothing here belongs to one event loop, which is what lets
apps on different loops (tests, one per client) share the pool."""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import importlib
import json
import logging
import os
import pickle
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tandem.domain import Contribution, suggestion_dict
from tandem.models.artifacts import ArtifactStore
from tandem.models.interface import FallbackAnswer, ModelFamily, Predictor
from tandem.models.scoring import Answer, score_logged
from tandem.predict.guard import Busy

log = logging.getLogger("tandem")

KILL_MARGIN_S = 2.0
"""How long past its budget a call may keep its worker before the worker is killed:
long enough for a slow call to finish and free its worker on its own, short enough that
a runaway one gives its CPU back soon."""
START_TIMEOUT_S = 60.0  # a worker's start, or its first load of a version
MAX_LOADED = 8  # versions a worker holds; the least recently used goes first
FRAME_TIMEOUT_S = 10.0  # the rest of a frame once its first bytes arrived
MAX_FRAME = 256 * 1024 * 1024
MAX_BATCH = 8
"""Queued calls a worker takes at once: more saves little, and the last of a batch waits
for the others' scoring."""
Key = tuple[str, str, str]  # (model, version, artifact sha256)
# A worker's frames: ready to work, version loaded, an answer, the model raised, the
# answers to a batch (each a pickled (tag, payload) of an answer or an error).
_READY, _LOADED, _REPLY, _ERROR, _MANY = b"S", b"L", b"R", b"E", b"M"


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


def _write(sock: socket.socket, tag: bytes, payload: bytes = b"") -> None:
    sock.sendall(len(payload).to_bytes(4, "big") + tag + payload)


def _recv_exactly(sock: socket.socket, n: int) -> bytes | None:
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        k = sock.recv_into(view[got:])
        if k == 0:
            return None
        got += k
    return bytes(buf)


def _read_frame(sock: socket.socket) -> tuple[bytes, bytes] | None:
    """(tag, payload), or None at EOF, on a broken frame or when it stalls."""
    try:
        header = _recv_exactly(sock, 5)
        if header is None or (n := int.from_bytes(header[:4], "big")) > MAX_FRAME:
            return None
        payload = _recv_exactly(sock, n) if n else b""
        return None if payload is None else (header[4:], payload)
    except OSError:  # socket.timeout included
        return None


def _plain(
    features: dict[str, float],
    probabilities: np.ndarray,
    explanation: list[Contribution],
    suggestions: Sequence[Any],
    highlights: list[dict[str, Any]] | None = None,
) -> tuple[Any, ...]:
    """An answer as builtins: cheaper to pickle than dataclasses and arrays."""
    contributions = [(c.feature, c.value, c.contribution) for c in explanation]
    advice = [suggestion_dict(s) for s in suggestions]
    return features, np.asarray(probabilities).tolist(), contributions, advice, highlights or []


def _work(sock: socket.socket) -> None:
    """A worker's life: load versions when told, answer calls, stop at EOF. Frames in:
    ("load", key, source), ("drop", key, None), (kind, key, logged input), or
    ("many", key, [a call's frame, ...]), answered in one frame."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
    loaded: dict[Key, Predictor] = {}
    failed: dict[Key, Exception] = {}
    _write(sock, _READY)
    while True:
        frame = _read_frame(sock)
        if frame is None:
            return  # the server closed its end: it stopped, or it replaced us
        kind, key, data = pickle.loads(frame[1])
        if kind == "drop":
            loaded.pop(key, None)
            failed.pop(key, None)
        elif kind == "load":
            try:
                loaded[key] = pickle.loads(data).load()
                failed.pop(key, None)
            except Exception as exc:  # told to the call that follows
                failed[key] = exc
            _write(sock, _LOADED)
        elif kind == "many":
            replies = [_call(loaded, failed, *pickle.loads(one)) for one in data]
            _write(sock, _MANY, pickle.dumps(replies, protocol=pickle.HIGHEST_PROTOCOL))
        else:
            _write(sock, *_call(loaded, failed, kind, key, data))


def _call(
    loaded: dict[Key, Predictor], failed: dict[Key, Exception], kind: str, key: Key, data: Any
) -> tuple[bytes, bytes]:
    """One call's reply frame (tag, payload): its answer, or the model's error."""
    try:
        predictor = loaded.get(key)
        if predictor is None:
            raise failed.get(key) or LookupError(f"model {key} was never loaded here")
        result: tuple[Any, ...] | None = None
        if kind in ("score", "score_highlights"):
            a = score_logged(predictor, data, highlights=kind == "score_highlights")
            result = _plain(a.features, a.probabilities, a.explanation, a.suggestions, a.highlights)
        else:
            f = predictor.fallback(predictor.input_schema.model_validate(data))
            if f is not None:
                result = _plain(f.features, f.probabilities, f.explanation, f.suggestions)
        return _REPLY, pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # the model's own failure, whatever it is
        return _ERROR, pickle.dumps((type(exc).__name__, repr(exc)[:500]))


# -- the server's side -------------------------------------------------------------


Reply = concurrent.futures.Future[tuple[bytes, bytes]]  # a worker's (tag, payload)


@dataclass(eq=False)
class _Call:
    for_fallback: bool
    kind: str
    key: Key
    frame: bytes  # (kind, key, logged input) pickled, without the version's source
    budget_s: float
    clock: float  # when the budget started (reset after a first load)
    future: Reply = field(default_factory=concurrent.futures.Future)
    dispatched: bool = False
    loading: bool = False  # its worker loads the version first
    cold: bool = False  # waits for a worker that is starting
    first_load: bool = False  # its worker was sent the version with it
    alone: bool = False  # never in a batch (its batch's worker died)


@dataclass(eq=False)
class _Worker:
    pid: int
    sock: socket.socket
    sent: dict[Key, None] = field(default_factory=dict)  # versions it holds, oldest first
    call: _Call | None = None
    batch: list[_Call] = field(default_factory=list)  # the calls sent with `call`
    kill_at: float | None = None
    dead: bool = False


class ProcessPool:
    """The worker processes of one server process; thread-safe, bound to no loop."""

    def __init__(self, size: int, preload: Iterable[str] = ()) -> None:
        """`size` workers for model calls at most (plus one kept for fallbacks); the
        forkserver imports `preload` once, so workers start with them imported."""
        self.size = size
        self._preload = list(preload)
        self._lock = threading.Lock()
        self._workers: list[_Worker] = []
        self._starting = 0
        self._model_calls = 0  # workers held by model calls (runaway ones included)
        self._queues: tuple[deque[_Call], deque[_Call]] = (deque(), deque())  # fallback, model
        self._blobs: dict[Key, bytes] = {}
        self._new: list[_Worker] = []
        self._closed = False
        # Calls made, batches sent and the calls in them (what benchmarks report).
        self.calls = self.batches = self.batched = 0
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._io = threading.Thread(target=self._io_loop, name="tandem-model-io", daemon=True)
        self._io.start()
        with self._lock:
            self._grow(2)  # one for model calls, one for fallbacks; more when all are busy

    def preload(self, modules: Iterable[str]) -> None:
        """Workers started from now on also start with `modules` imported."""
        with _zygote_lock:
            self._preload = sorted(set(self._preload) | set(modules))

    @property
    def pids(self) -> set[int]:
        """The ids of the live workers taking calls."""
        with self._lock:
            return {w.pid for w in self._workers if not w.dead}

    @property
    def starting(self) -> int:
        """How many workers are starting (not taking calls yet)."""
        with self._lock:
            return self._starting + len(self._new)

    async def run(
        self, kind: str, source: Source, key: Key, logged_input: dict[str, Any], budget_s: float
    ) -> Any:
        """`kind` ("score", "score_highlights" or "fallback") of `source` on
        `logged_input`, in a worker, all within `budget_s` (waiting for a free worker
        included): Busy when no worker came free in time, TimeoutError when the call
        overran, ModelError when the model raised, WorkerCrashed when its worker died.
        A score is an Answer; a fallback a FallbackAnswer or None."""
        frame = pickle.dumps((kind, key, logged_input), protocol=pickle.HIGHEST_PROTOCOL)
        call = _Call(kind == "fallback", kind, key, frame, budget_s, time.monotonic())
        with self._lock:
            if self._closed:
                raise Busy()
            self.calls += 1
            if key not in self._blobs:
                self._blobs[key] = pickle.dumps(source)
            self._queues[not call.for_fallback].append(call)
            self._dispatch()
            if not call.dispatched:
                self._grow(1)
                # Waiting for a worker that is starting: the pool's growth is not charged.
                may_grow = call.for_fallback or self._model_calls < self.size
                call.cold = self._starting > 0 and may_grow
        waiting = asyncio.wrap_future(call.future)
        waiting.add_done_callback(_retrieve)  # its outcome is read from call.future
        try:
            while not call.future.done():
                if call.loading or (call.cold and not call.dispatched):
                    left = min(budget_s, call.clock + START_TIMEOUT_S - time.monotonic())
                else:
                    left = call.clock + budget_s - time.monotonic()
                if left <= 0:
                    break
                await asyncio.wait({waiting}, timeout=left)
        finally:
            with self._lock:
                dispatched = call.dispatched
                # A queued call is dropped; a running one runs out (or is killed).
                call.future.cancel()
        if call.future.cancelled():
            raise TimeoutError() if dispatched else Busy()
        return _answer(kind, *call.future.result())

    # -- under the lock ------------------------------------------------------------

    def _grow(self, n: int) -> None:
        """Start up to `n` more workers (never more than size + 1 in all)."""
        for _ in range(n):
            live = len([w for w in self._workers if not w.dead]) + self._starting
            if self._closed or live >= self.size + 1:
                return
            self._starting += 1
            threading.Thread(target=self._start_worker, name="tandem-model-start").start()

    def _idle(self, call: _Call) -> _Worker | None:
        if not call.for_fallback and self._model_calls >= self.size:
            return None  # the last worker is kept for fallbacks
        idle = [w for w in self._workers if w.call is None and not w.dead]
        return next((w for w in idle if call.key in w.sent), idle[0] if idle else None)

    def _dispatch(self) -> None:
        """Hand queued calls to idle workers, fallbacks first; when none is left idle,
        start another (up to the size), so that the next call finds one."""
        sent = False
        for queue in self._queues:
            while queue:
                call = queue[0]
                if call.future.cancelled():
                    queue.popleft()  # its caller gave up while it waited
                    continue
                worker = self._idle(call)
                if worker is None:
                    break
                queue.popleft()
                sent = self._send(worker, call, self._batch(queue, call, worker)) or sent
        if sent and not any(w.call is None and not w.dead for w in self._workers):
            self._grow(1)

    def _batch(self, queue: deque[_Call], call: _Call, worker: _Worker) -> list[_Call]:
        """The queued calls to send to `worker` with `call`: model calls of the same
        kind for the same version, which the worker holds already."""
        if call.for_fallback or call.alone or not queue or call.key not in worker.sent:
            return []
        batch: list[_Call] = []
        rest: list[_Call] = []
        for other in queue:
            same = other.key == call.key and other.kind == call.kind and not other.alone
            if same and len(batch) < MAX_BATCH - 1 and not other.future.cancelled():
                batch.append(other)
            elif not other.future.cancelled():
                rest.append(other)
        if batch:
            queue.clear()
            queue.extend(rest)
        return batch

    def _send(self, worker: _Worker, call: _Call, batch: Sequence[_Call] = ()) -> bool:
        if batch:
            return self._send_many(worker, [call, *batch])
        cold = call.key not in worker.sent
        try:
            if cold and len(worker.sent) >= MAX_LOADED:  # a long-lived worker's memory
                oldest = next(iter(worker.sent))
                _write(worker.sock, _REPLY, pickle.dumps(("drop", oldest, None)))
                del worker.sent[oldest]
            if cold:
                load = ("load", call.key, self._blobs[call.key])
                _write(worker.sock, _REPLY, pickle.dumps(load, protocol=pickle.HIGHEST_PROTOCOL))
            _write(worker.sock, _REPLY, call.frame)
        except OSError:  # it died while idle: its EOF is on its way to the I/O thread
            worker.dead = True
            self._queues[not call.for_fallback].appendleft(call)
            return False
        worker.sent.pop(call.key, None)
        worker.sent[call.key] = None  # the most recently used last
        worker.call, call.dispatched, call.loading, call.first_load = call, True, cold, cold
        self._model_calls += not call.for_fallback
        now = time.monotonic()
        if cold or call.cold:
            call.clock = now
        worker.kill_at = (
            now + START_TIMEOUT_S if cold else call.clock + call.budget_s + KILL_MARGIN_S
        )
        return True

    def _send_many(self, worker: _Worker, calls: list[_Call]) -> bool:
        """Model calls for a version `worker` holds, in one frame."""
        many = ("many", calls[0].key, [c.frame for c in calls])
        try:
            _write(worker.sock, _REPLY, pickle.dumps(many, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:  # it died while idle, as in `_send`
            worker.dead = True
            self._queues[1].extendleft(reversed(calls))
            return False
        worker.sent.pop(calls[0].key, None)
        worker.sent[calls[0].key] = None
        worker.call, worker.batch = calls[0], calls[1:]
        now = time.monotonic()
        for c in calls:
            c.dispatched = True
            if c.cold:
                c.clock = now
        self._model_calls += 1
        worker.kill_at = max(c.clock + c.budget_s for c in calls) + KILL_MARGIN_S
        self.batches += 1
        self.batched += len(calls)
        return True

    def _release(self, worker: _Worker) -> _Call | None:
        call, worker.call, worker.kill_at = worker.call, None, None
        if call is not None:
            self._model_calls -= not call.for_fallback
        return call

    # -- threads -------------------------------------------------------------------

    def _start_worker(self) -> None:
        """Start a worker and wait for it to say it is ready (on a thread of its own)."""
        worker = None
        parent, child = socket.socketpair()
        try:
            try:
                pid = self._fork(child)
            finally:
                child.close()
            worker = _Worker(pid, parent)
            parent.settimeout(START_TIMEOUT_S)
            if _read_frame(parent) != (_READY, b""):
                raise WorkerCrashed(f"model worker {pid} died while starting")
            parent.settimeout(FRAME_TIMEOUT_S)
        except Exception:
            if not self._closed:  # else it was stopped with the pool
                log.exception("could not start a model worker")
            if worker is not None:
                _stop(worker, kill=True)
            parent.close()
            with self._lock:
                self._starting -= 1
            return
        with self._lock:
            self._starting -= 1
            if not self._closed:
                self._new.append(worker)
                self._wake()
                return
        _stop(worker)

    def _fork(self, sock: socket.socket) -> int:
        """A new worker on `sock`, forked by the process's zygote (started now if need
        be; it outlives the pool, so a pool started again costs only the forks)."""
        global _zygote
        with _zygote_lock:
            if self._closed:
                raise Busy()
            wanted = set(self._preload)
            if _zygote is not None and _zygote.pid == os.getpid() and not wanted <= _zygote.preload:
                # An app with other model code joined: workers must start with it
                # imported too (importing it in a worker would be charged to a call).
                wanted |= _zygote.preload
                _zygote.close()
                _zygote = None
            if _zygote is None or _zygote.pid != os.getpid() or _zygote.proc.poll() is not None:
                _zygote = _Zygote(sorted(wanted))
            return _zygote.fork(sock)

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def _io_loop(self) -> None:
        """Read every worker's replies, hand each its call, kill runaways."""
        while True:
            with self._lock:
                if self._closed:
                    return
                for worker in self._new:
                    self._selector.register(worker.sock, selectors.EVENT_READ, worker)
                    self._workers.append(worker)
                self._new.clear()
                self._dispatch()
                kills = [w.kill_at for w in self._workers if w.kill_at is not None]
            timeout = None if not kills else max(min(kills) - time.monotonic(), 0.0)
            for key, _ in self._selector.select(timeout):
                if key.data is None:
                    with contextlib.suppress(OSError):
                        self._wake_r.recv(4096)
                else:
                    self._read(key.data)
            self._kill_runaways()

    def _read(self, worker: _Worker) -> None:
        frame = _read_frame(worker.sock)
        with self._lock:
            if frame is None:
                self._bury(worker)
                return
            call = worker.call
            if frame[0] == _LOADED:
                if call is not None:  # the budget starts now that the model is there
                    call.loading, call.clock = False, time.monotonic()
                    worker.kill_at = call.clock + call.budget_s + KILL_MARGIN_S
                return
            batch, worker.batch = worker.batch, []
            self._release(worker)
            if call is not None and call.first_load and frame[0] == _ERROR:
                worker.sent.pop(call.key, None)  # the load may have failed: send it again
            self._dispatch()
        if call is None:
            return
        calls = [call, *batch]
        replies = pickle.loads(frame[1]) if frame[0] == _MANY else [frame]
        for one, reply in zip(calls, replies, strict=True):
            with contextlib.suppress(concurrent.futures.InvalidStateError):
                one.future.set_result(reply)

    def _bury(self, worker: _Worker) -> None:
        """A worker died (or was killed): fail its call (a batch's calls go again one by
        one), start another in its place."""
        self._selector.unregister(worker.sock)
        self._workers.remove(worker)
        worker.dead = True
        batch, worker.batch = worker.batch, []
        call = self._release(worker)
        if call is not None and batch:
            # One of them may be what killed it: each goes again on its own.
            calls = [c for c in (call, *batch) if not c.future.cancelled()]
            for c in calls:
                c.alone, c.dispatched = True, False
            self._queues[1].extendleft(reversed(calls))
        elif call is not None:
            with contextlib.suppress(concurrent.futures.InvalidStateError):
                call.future.set_exception(WorkerCrashed(f"model worker {worker.pid} died"))
        self._grow(1)
        self._dispatch()
        worker.sock.close()
        if not self._closed:
            log.warning("model worker %s died; another takes its place", worker.pid)

    def _kill_runaways(self) -> None:
        now = time.monotonic()
        with self._lock:
            runaways = [w for w in self._workers if w.kill_at is not None and w.kill_at <= now]
            for worker in runaways:
                worker.kill_at = None  # its EOF follows, and with it a replacement
                log.warning(
                    "model worker %s overran its budget by %.1f s; killing it",
                    worker.pid,
                    KILL_MARGIN_S,
                )
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGKILL)

    def close(self) -> None:
        """Stop every worker (closing its socket ends it; a busy one is killed); blocks."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            workers, self._workers = [*self._workers, *self._new], []
            self._new.clear()
            queued = [c for q in self._queues for c in q]
            for q in self._queues:
                q.clear()
        self._wake()
        self._io.join(5.0)
        running = [c for w in workers if w.call is not None for c in (w.call, *w.batch)]
        for call in queued + running:
            call.future.cancel()
        for worker in workers:
            _stop(worker, kill=worker.call is not None)
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _answer(kind: str, tag: bytes, payload: bytes) -> Answer | FallbackAnswer | None:
    reply = pickle.loads(payload)
    if tag == _ERROR:
        raise ModelError(*reply)
    if reply is None:
        return None
    features, probabilities, explanation, suggestions, highlights = reply
    parts = (
        features,
        np.asarray(probabilities, dtype=float),
        [Contribution(*c) for c in explanation],
        suggestions,
    )
    return FallbackAnswer(*parts) if kind == "fallback" else Answer(*parts, highlights)


def _stop(worker: _Worker, kill: bool = False) -> None:
    """Close a worker's socket, which ends it (SIGKILL first if asked: it may be busy)."""
    if kill:
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        worker.sock.close()


_ZYGOTE = (
    "import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
    "from tandem.predict.isolation import _zygote_main; "
    "_zygote_main(int(sys.argv[2]), sys.argv[3:])"
)


class _Zygote:
    """A process that imports the model code once and forks every worker from itself:
    a worker starts in milliseconds, inherits nothing of the server's, and the
    server's own `__main__` is never run again (what multiprocessing would do)."""

    def __init__(self, preload: list[str]) -> None:
        self.pid = os.getpid()  # the server process it belongs to
        self.preload = set(preload)
        self.sock, theirs = socket.socketpair()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _ZYGOTE, json.dumps(sys.path), str(theirs.fileno())]
            + [__name__, *preload],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
        )
        theirs.close()

    def fork(self, sock: socket.socket) -> int:
        socket.send_fds(self.sock, [b"f"], [sock.fileno()])
        pid = _recv_exactly(self.sock, 4)
        if pid is None:
            raise WorkerCrashed("the process that starts model workers died")
        return int.from_bytes(pid, "big")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()  # it exits at EOF
        try:
            self.proc.wait(5.0)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _zygote_main(fd: int, preload: list[str]) -> None:
    """The zygote's life: import, then fork a worker for each socket it is sent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
    for name in preload:
        try:
            importlib.import_module(name)
        except Exception as exc:  # a worker that needs it will say why
            log.warning("model workers could not preload %s (%r)", name, exc)
    control = socket.socket(fileno=fd)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the workers
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(control, 1, 1)
        except OSError:
            return
        if not msg or not fds:
            return  # the server closed its end
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            control.close()
            try:
                _work(socket.socket(fileno=fds[0]))
            finally:
                os._exit(0)
        os.close(fds[0])
        control.sendall(pid.to_bytes(4, "big"))


# -- one pool per server process, shared by its apps -------------------------------

_zygote_lock = threading.Lock()
_zygote: _Zygote | None = None  # started with the first pool, stopped at exit

_shared_lock = threading.Lock()
_shared: ProcessPool | None = None
_shared_pid = 0
_users: set[Isolation] = set()


class Isolation:
    """An app's way to its process's model workers: starts the shared pool on its
    first call, and stops it at `close` when no other app uses it."""

    def __init__(self, size: int, families: Iterable[ModelFamily] = ()) -> None:
        self.size = size
        self._preload = sorted({type(f).__module__ for f in families})
        self._hostable: dict[Key, bool] = {}
        self._pool: ProcessPool | None = None

    def can_host(self, key: Key, source: Source) -> bool:
        """Whether a worker can load this version (its family pickles)."""
        if key not in self._hostable:
            try:
                pickle.dumps(source)
                self._hostable[key] = True
            except Exception as exc:
                self._hostable[key] = False
                log.warning("model %s %s cannot run in a worker process (%r)", *key[:2], exc)
        return self._hostable[key]

    @property
    def pool(self) -> ProcessPool:
        """The process's pool, started now if it is not running."""
        global _shared, _shared_pid
        pool = self._pool
        if pool is not None and pool is _shared:
            return pool
        with _shared_lock:
            if _shared is None or _shared_pid != os.getpid():
                _shared, _shared_pid = ProcessPool(self.size, self._preload), os.getpid()
            _shared.size = max(_shared.size, self.size)
            _shared.preload(self._preload)
            _users.add(self)
            self._pool = _shared
            return _shared

    @property
    def started(self) -> bool:
        """Whether this app has called a worker (the pool runs)."""
        with _shared_lock:
            return self in _users

    async def run(
        self, kind: str, key: Key, source: Source, logged_input: dict[str, Any], budget_s: float
    ) -> Any:
        return await self.pool.run(kind, source, key, logged_input, budget_s)

    async def close(self) -> None:
        """This app is done; the last one out stops the pool."""
        global _shared
        with _shared_lock:
            if self not in _users:
                return
            _users.discard(self)
            self._pool = None
            pool = _shared if not _users else None
            if pool is not None:
                _shared = None
        if pool is not None:
            await asyncio.to_thread(pool.close)


@atexit.register
def _close_at_exit() -> None:
    global _shared, _zygote
    with _shared_lock:
        pool, _shared = _shared, None
        _users.clear()
    if pool is not None and _shared_pid == os.getpid():
        pool.close()
    with _zygote_lock:
        zygote, _zygote = _zygote, None
    if zygote is not None and zygote.pid == os.getpid():
        zygote.close()
