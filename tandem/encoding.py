"""JSON encoding shared by the store's JSON columns and the API's answers: one fast
serialiser (pydantic-core's) and one rule for what it cannot encode itself."""

from __future__ import annotations

from typing import Any

import pydantic_core


def jsonable(value: Any) -> Any:
    """What the fast serialiser cannot encode itself: NumPy scalars and arrays."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot store a {type(value).__name__} as JSON")


def dumps(value: Any) -> str:
    """~5x faster than `json.dumps` on a prediction's five JSON columns, which every
    logged prediction pays."""
    return pydantic_core.to_json(value, fallback=jsonable).decode()
