"""Dates and times in Europe/London, stored as UTC: read as people type them, and shown in GOV.UK
style ('12pm on Friday 28 September 2018', countdowns to deadlines).

Plain Python with no Flask or templates, so services, exports and emails use it directly;
app.filters only registers these functions as Jinja filters.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")

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


# --- shown in GOV.UK style ---------------------------------------------------------------------

def to_london(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime: store and pass UTC-aware datetimes")
    return value.astimezone(LONDON)


def is_ambiguous(local: datetime) -> bool:
    """True for a London time that happens twice (the hour repeated when the clocks go back)."""
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()


def govuk_time(value: datetime) -> str:
    """'12pm', '9:30am', 'midnight'; a time that happens twice says which: '1:30am (BST)'."""
    local = to_london(value)
    if local.hour == 0 and local.minute == 0:
        return "midnight"
    hour = local.hour % 12 or 12
    suffix = "am" if local.hour < 12 else "pm"
    text = f"{hour}:{local.minute:02d}{suffix}" if local.minute else f"{hour}{suffix}"
    if is_ambiguous(local):
        text += f" ({local.tzname()})"
    return text


def govuk_date(value: date | datetime | None, weekday: bool = False) -> str:
    """'28 September 2018' (or 'Friday 28 September 2018')."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_london(value)
    text = f"{value.day} {value:%B %Y}"
    return f"{value:%A} {text}" if weekday else text


def govuk_datetime(value: datetime | None) -> str:
    """'12pm on Friday 28 September 2018'."""
    if value is None:
        return ""
    return f"{govuk_time(value)} on {govuk_date(value, weekday=True)}"


class Countdown:
    def __init__(self, text: str, urgent: bool, overdue: bool):
        self.text, self.urgent, self.overdue = text, urgent, overdue

    def __str__(self) -> str:
        return self.text


def countdown(deadline: datetime | None, now: datetime | None = None) -> Countdown | None:
    """'5 days left', '1 day left', 'Due today at 12pm', '2 days overdue' - in London days."""
    if deadline is None:
        return None
    now = now or datetime.now(UTC)
    local_deadline, local_now = to_london(deadline), to_london(now)
    days = (local_deadline.date() - local_now.date()).days
    if now > deadline:
        overdue_days = (local_now.date() - local_deadline.date()).days
        if overdue_days == 0:
            return Countdown(f"Overdue since {govuk_time(deadline)} today", True, True)
        return Countdown(f"{overdue_days} day{'s' if overdue_days != 1 else ''} overdue", True, True)
    if days == 0:
        return Countdown(f"Due today at {govuk_time(deadline)}", True, False)
    return Countdown(f"{days} day{'s' if days != 1 else ''} left", days <= 3, False)
