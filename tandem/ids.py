"""Identifiers: 32 hex digits, safe to mint in any number of worker processes."""

from __future__ import annotations

import os
import random
import time

_random = random.Random(os.urandom(32))


def _reseed() -> None:
    _random.seed(os.urandom(32))


os.register_at_fork(after_in_child=_reseed)  # a forked process never repeats its parent's


def new_id() -> str:
    """48 bits of milliseconds since the epoch, then 80 random bits (as UUIDv7 lays
    them out): unique without coordination, and ascending over time, so the store's
    indexes on ids take each insert at their right-hand edge instead of on a random
    page (measured on SQLite at ~20k rows: ~40 % less CPU per logged prediction).

    The random bits come from a generator seeded from the OS in each process, not
    from os.urandom per id: that system call lets go of the interpreter lock, and on a
    busy server the event loop then waited for the writer or model threads to hand it
    back (~45 µs an id, three ids a prediction). Ids are names, never secrets: keys
    and session tokens come from `secrets`."""
    return f"{time.time_ns() // 1_000_000:012x}{_random.getrandbits(80):020x}"
