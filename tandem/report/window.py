"""The report's time window from what a person types: dates or datetimes, UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tandem.errors import InvalidInput

DEFAULT_DAYS = 30


def parse_when(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            f"{name}={value!r} is not a date; use ISO 8601 like 2026-11-01 or 2026-11-01T12:00"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def window(
    since: str | None, until: str | None, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """[since, until); by default the last 30 days. A bare `until` date includes that day."""
    now = now or datetime.now(UTC)
    end = now
    if until:
        end = parse_when(until, "until")
        if len(until.strip()) == 10:  # a date: the whole day counts
            end += timedelta(days=1)
    start = parse_when(since, "since") if since else end - timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise InvalidInput(
            f"since ({start:%Y-%m-%d %H:%M}) must be before until ({end:%Y-%m-%d %H:%M})"
        )
    if end - start > timedelta(days=366):
        raise InvalidInput("a report covers at most 366 days; narrow since/until")
    return start, end
