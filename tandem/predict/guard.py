"""Run model code under a latency budget on a bounded pool of threads (models served
with thread isolation; see tandem.predict.isolation for the worker processes).

A thread cannot be killed, so a model call that overruns keeps its thread until it
returns; the pool's size bounds how many such calls can pile up, and when every
slot is taken a request does not queue behind them: it goes to the fallback.

A model that says its scoring is cheap (`Predictor.runs_inline`) is called on the
event loop instead: the hop to a thread and back (two GIL hand-offs and a loop
wake-up) costs more than the few microseconds of a linear model. Its budget cannot
interrupt it there, so each inline call is timed, and a model whose call overran
its budget is sent to the threads from then on.

A fallback runs on threads of its own, under a budget of its own: never on the event
loop, and never queued behind the model calls it stands in for."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger("tandem")
INLINE_WAIT_FACTOR = 4  # an inline call this many budgets long (wall clock) is too slow
FALLBACK_THREADS = 2


class Busy(Exception):
    """Every model slot is occupied (by slow calls)."""


class Guard:
    def __init__(self, workers: int = 4) -> None:
        self.workers = workers
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="tandem-model")
        self._slots = threading.BoundedSemaphore(workers)
        self._too_slow_inline: set[object] = set()
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
        """`fn()` right here, unless a call for `key` once overran its budget; then on
        the pool like `run`. An overrunning inline call still answers (it is done)."""
        if key in self._too_slow_inline:
            return await self.run(fn, budget_s)
        wall, cpu = time.perf_counter(), time.thread_time()
        result = fn()
        wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
        # Judged on CPU time: on a busy machine the OS may pause this thread mid-call,
        # which says nothing about the model; a call that waits (which an inline model
        # should not) is caught by the wall clock, with room for such pauses.
        if cpu > budget_s or wall > INLINE_WAIT_FACTOR * budget_s:
            self._too_slow_inline.add(key)
            log.warning(
                "%s took %.1f ms inline (%.1f ms CPU; budget %.1f ms); it runs on the "
                "model threads from now on",
                key,
                wall * 1000,
                cpu * 1000,
                budget_s * 1000,
            )
        return result

    async def run_fallback(self, fn: Callable[[], T], budget_s: float) -> T:
        """`fn()` on the fallback threads; TimeoutError past the budget."""
        job = self._fallbacks.submit(fn)
        return await asyncio.wait_for(asyncio.wrap_future(job), budget_s)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._fallbacks.shutdown(wait=False, cancel_futures=True)
