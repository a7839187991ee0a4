"""Identifiers: 32 hex digits, safe to mint in any number of worker processes."""

from __future__ import annotations

import os
import time


def new_id() -> str:
    """48 bits of milliseconds since the epoch, then 80 random bits (as UUIDv7 lays
    them out): unique without coordination, and ascending over time, so the store's
    indexes on ids take each insert at their right-hand edge instead of on a random
    page (measured on SQLite at ~20k rows: ~40 % less CPU per logged prediction)."""
    return f"{time.time_ns() // 1_000_000:012x}{os.urandom(10).hex()}"
