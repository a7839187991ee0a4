"""Durations as people write them in a config ("90s", "15m", "2h", "7d", "all") and
the time windows they make."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PATTERN = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")


def parse_span(text: Any) -> str:
    """Check a span and return it normalised ("all" or NUMBER+UNIT)."""
    if not isinstance(text, str):
        raise ValueError(f"a duration is text like '15m' or 'all', not {text!r}")
    cleaned = text.strip().lower()
    if cleaned == "all" or _PATTERN.match(cleaned):
        return cleaned
    raise ValueError(
        f"{text!r} is not a duration: write a number and a unit (s, m, h, d, w) such as "
        "'90s', '15m', '24h', or 'all' for no lower bound"
    )


def seconds(span: str) -> float | None:
    """The span's length in seconds; None for "all"."""
    match = _PATTERN.match(span)
    if match is None:
        return None
    return float(match.group(1)) * _UNITS[match.group(2)]


Span = Annotated[str, BeforeValidator(parse_span)]


@dataclass(frozen=True, slots=True)
class Window:
    """[since, until): since None means from the beginning of the log."""

    since: datetime | None
    until: datetime
    span: str

    @classmethod
    def ending(cls, until: datetime, span: str) -> Window:
        length = seconds(span)
        since = None if length is None else until - timedelta(seconds=length)
        return cls(since, until, span)

    @classmethod
    def between(cls, since: datetime | None, until: datetime) -> Window:
        return cls(since, until, "custom")

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat(),
            "span": self.span,
        }
