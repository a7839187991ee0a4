"""JSON encoding shared by the store's JSON columns and the API's answers: one fast
serialiser (pydantic-core's) and one rule for what it cannot encode itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# pydantic-core loads with the first value encoded, not with the store's engine: a
# command that only reads the store (`tandem keys list`) never pays its ~10 ms import.
_to_json: Callable[..., bytes] | None = None


def jsonable(value: Any) -> Any:
    """What the fast serialiser cannot encode itself: NumPy scalars and arrays."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot store a {type(value).__name__} as JSON")


def _load_to_json() -> Callable[..., bytes]:
    global _to_json
    from pydantic_core import to_json

    _to_json = to_json
    return to_json


def dumps(value: Any) -> str:
    """~5x faster than `json.dumps` on a prediction's five JSON columns, which every
    logged prediction pays."""
    return (_to_json or _load_to_json())(value, fallback=jsonable).decode()
