"""Time in one zone: every stored or compared time is UTC, and a time given without a
zone (a form field, a CLI option, a query string) is read as UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tandem.errors import InvalidInput

REPORT_DAYS = 30
"""A report's window when none is given."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """The same instant in UTC; a naive time is taken to be UTC already."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def maybe_utc(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def parse_when(value: str | None, name: str) -> datetime | None:
    """A date or time as a person types it (ISO 8601), in UTC; blank means not given."""
    if value is None or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            f"{name}={value!r} is not a date; use ISO 8601 like 2026-11-01 or 2026-11-01T12:00"
        ) from None
    return as_utc(parsed)


def window(
    since: datetime | None, until: datetime | None, default: timedelta, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """[since, until) in UTC: `until` defaults to now, `since` to `default` before it."""
    end = as_utc(until) if until is not None else (now or utcnow())
    start = as_utc(since) if since is not None else end - default
    if start >= end:
        raise InvalidInput(
            f"since ({start:%Y-%m-%d %H:%M}) must be before until ({end:%Y-%m-%d %H:%M})"
        )
    return start, end


def report_window(
    since: str | None, until: str | None, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """A report's [since, until) from text; by default the last 30 days. A bare `until`
    date includes that day, and a report covers at most 366 days."""
    end = parse_when(until, "until")
    if end is not None and until is not None and len(until.strip()) == 10:
        end += timedelta(days=1)  # a date: the whole day counts
    start, end = window(parse_when(since, "since"), end, timedelta(days=REPORT_DAYS), now)
    if end - start > timedelta(days=366):
        raise InvalidInput("a report covers at most 366 days; narrow since/until")
    return start, end
