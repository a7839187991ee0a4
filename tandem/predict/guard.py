"""Run model code under a latency budget on a bounded pool of threads (models served
with thread isolation; see tandem.predict.isolation for the worker processes).

A thread cannot be killed, so a model call that overruns keeps its thread until it
returns; the pool's size bounds how many such calls can pile up, and when every
slot is taken a request does not queue behind them: it goes to the fallback.

A model that says its scoring is cheap (`Predictor.runs_inline`) is called on the
event loop instead: the hop to a thread and back (two GIL hand-offs and a loop
wake-up) costs more than the few microseconds of a linear model. Its budget cannot
interrupt it there, so each inline call is timed. A call that used more CPU than its
budget sends the model to the threads for good. A call that only took long on the
wall clock is judged by how the thread lost the CPU: preempted (the OS or a busy
machine paused it: not the model's doing) or waiting of its own accord (sleep, I/O,
a lock). Only the latter sends the model to the threads, and for a while (30 s,
doubling with each repeat): one stall must not leave a cheap model on threads,
answered `busy` by the fallback under load, for the rest of the process's life.

A fallback runs on threads of its own, under a budget of its own: never on the event
loop, and never queued behind the model calls it stands in for."""

from __future__ import annotations

import asyncio
import logging
import resource
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger("tandem")
INLINE_WAIT_FACTOR = 4  # an inline call this many budgets long (wall clock) is too slow
INLINE_RETRY_S = 30.0  # after a wall-clock overrun, back inline after this long (doubling)
FALLBACK_THREADS = 2


class Busy(Exception):
    """Every model slot is occupied (by slow calls)."""


class Guard:
    def __init__(self, workers: int = 4) -> None:
        self.workers = workers
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="tandem-model")
        self._slots = threading.BoundedSemaphore(workers)
        self._too_slow_inline: set[object] = set()  # overran on CPU: threads for good
        self._waited: dict[object, tuple[float, int]] = {}  # on threads until, overruns
        self._fallbacks = ThreadPoolExecutor(FALLBACK_THREADS, thread_name_prefix="tandem-fallback")

    async def run(self, fn: Callable[[], T], budget_s: float) -> T:
        """`fn()` on the pool; TimeoutError past the budget, Busy if no slot is free."""
        if not self._slots.acquire(blocking=False):
            raise Busy()
        try:
            job = self._pool.submit(fn)
        except BaseException:
            self._slots.release()
            raise
        # Released when the call ends or is cancelled, not when we stop waiting.
        job.add_done_callback(lambda _job: self._slots.release())
        return await asyncio.wait_for(asyncio.wrap_future(job), budget_s)

    async def run_inline(self, fn: Callable[[], T], budget_s: float, key: object) -> T:
        """`fn()` right here, unless `key`'s calls were sent to the threads (see the
        module's docstring); then on the pool like `run`. An overrunning inline call
        still answers (it is done)."""
        if key in self._too_slow_inline:
            return await self.run(fn, budget_s)
        waited = self._waited.get(key)
        if waited is not None and time.monotonic() < waited[0]:
            return await self.run(fn, budget_s)
        wall, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_THREAD)
        result = fn()
        if time.perf_counter() - wall > budget_s:  # rare: only then is the call judged
            self._judge(key, budget_s, time.perf_counter() - wall, before)
        return result

    def _judge(
        self, key: object, budget_s: float, wall: float, before: resource.struct_rusage
    ) -> None:
        after = resource.getrusage(resource.RUSAGE_THREAD)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        preempted = after.ru_nivcsw > before.ru_nivcsw
        waited = after.ru_nvcsw > before.ru_nvcsw
        if cpu > budget_s:
            self._too_slow_inline.add(key)
            how = "from now on"
        elif wall > INLINE_WAIT_FACTOR * budget_s and waited and not preempted:
            _, times = self._waited.get(key, (0.0, 0))
            pause = INLINE_RETRY_S * 2**times
            self._waited[key] = (time.monotonic() + pause, times + 1)
            how = f"for the next {pause:.0f} s"
        else:
            return  # within its budget on CPU, and the OS (not the model) paused it
        log.warning(
            "%s took %.1f ms inline (%.1f ms CPU; budget %.1f ms); it runs on the model threads %s",
            key,
            wall * 1000,
            cpu * 1000,
            budget_s * 1000,
            how,
        )

    async def run_fallback(self, fn: Callable[[], T], budget_s: float) -> T:
        """`fn()` on the fallback threads; TimeoutError past the budget."""
        job = self._fallbacks.submit(fn)
        return await asyncio.wait_for(asyncio.wrap_future(job), budget_s)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._fallbacks.shutdown(wait=False, cancel_futures=True)
