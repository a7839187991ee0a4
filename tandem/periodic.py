"""A job the server runs every few seconds in the background (alert checks, feature
block compaction), on a worker thread so the store's work never blocks the event loop,
and, when several hosts share one store, on one host at a time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("tandem")


Exclusive = Callable[[str], AbstractContextManager[bool]]
"""A job's lock by name, yielding whether this caller holds it (the store's `exclusive`)."""


@dataclass(eq=False)
class Periodic:
    """Runs `job` every `interval_s` seconds (0: never) from `start()` until `stop()`;
    a failed run is logged and the next one runs on time. With `exclusive`, a run is
    skipped while another process holds the job's lock."""

    name: str
    interval_s: float
    job: Callable[[], Any]
    exclusive: Exclusive | None = None
    _task: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    def run_once(self) -> bool:
        """Run the job now unless another process holds its lock; whether it ran."""
        if self.exclusive is None:
            self.job()
        else:
            with self.exclusive(self.name) as held:
                if not held:
                    log.debug("%s: another host is running it; skipped", self.name)
                    return False
                self.job()
        return True

    def start(self) -> None:
        if self.interval_s > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._every_interval())

    async def _every_interval(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await asyncio.to_thread(self.run_once)
            except Exception:
                log.exception("%s failed; retrying in %s s", self.name, self.interval_s)

    async def stop(self) -> None:
        """Stop the timer this event loop started. A second run of the app's lifespan
        on another loop (a test harness nesting clients) found it running and must
        leave it to its owner."""
        if self._task is not None and self._task.get_loop() is asyncio.get_running_loop():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
