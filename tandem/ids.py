"""Identifiers: random 128-bit hex, safe to mint in any number of worker processes."""

from __future__ import annotations

import uuid


def new_id() -> str:
    return uuid.uuid4().hex
