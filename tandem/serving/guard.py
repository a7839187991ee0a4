"""Run model code under a latency budget on a bounded pool of threads.

A thread cannot be killed, so a model call that overruns keeps its thread until it
returns; the pool's size bounds how many such calls can pile up, and when every
slot is taken a request does not queue behind them: it goes to the fallback."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class Busy(Exception):
    """Every model slot is occupied (by slow calls)."""


class Guard:
    def __init__(self, workers: int = 4) -> None:
        self.workers = workers
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="tandem-model")
        self._slots = threading.BoundedSemaphore(workers)

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

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
