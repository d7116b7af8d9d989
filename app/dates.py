"""Dates and times as people type them, in Europe/London, stored as UTC."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from app.filters import LONDON

_TIME_RE = re.compile(r"^(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?$")


class TimeError(ValueError):
    """The message is written for the person who typed the time."""


def parse_time(text: str) -> time:
    """'12pm', '9:30am', '9.30am', '14:00', '1400'?, 'midday', 'noon', 'midnight' -> time."""
    value = (text or "").strip().lower().replace(" ", "")
    if not value:
        raise TimeError("Enter a time")
    if value in ("midday", "noon", "12noon"):
        return time(12, 0)
    if value == "midnight":
        return time(0, 0)
    match = _TIME_RE.match(value)
    if not match:
        raise TimeError("Enter a time like 12pm, 9:30am or 17:00")
    hour, minute, suffix = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if minute > 59:
        raise TimeError("Enter a time like 12pm, 9:30am or 17:00")
    if suffix:
        if not 1 <= hour <= 12:
            raise TimeError("Enter a time like 12pm, 9:30am or 17:00")
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    elif hour > 23:
        raise TimeError("Enter a time like 12pm, 9:30am or 17:00")
    return time(hour, minute)


def london_to_utc(day: date, at: time) -> datetime:
    """A London wall-clock time as an aware UTC datetime.

    Clock changes are handled on purpose: a time that does not exist (the hour skipped when the
    clocks go forward in March) is refused; a time that happens twice (the hour repeated when
    they go back in October) means the first one, in British Summer Time - the earlier moment,
    so nobody is told they have longer than they do.
    """
    local = datetime.combine(day, at, tzinfo=LONDON)  # fold=0: the first of two
    as_utc = local.astimezone(UTC)
    if as_utc.astimezone(LONDON).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise TimeError("That time does not exist on this date because the clocks go forward. Enter a later time")
    return as_utc


def utc_to_london_parts(value: datetime) -> tuple[date, str]:
    """For pre-filling a date input and a time input."""
    local = value.astimezone(LONDON)
    hour = local.hour % 12 or 12
    suffix = "am" if local.hour < 12 else "pm"
    text = f"{hour}{suffix}" if local.minute == 0 else f"{hour}:{local.minute:02d}{suffix}"
    return local.date(), text


def days_between(start: datetime, end: datetime) -> timedelta:
    return end - start
