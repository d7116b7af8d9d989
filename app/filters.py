"""Template filters: GOV.UK style dates and times (Europe/London) and money from pence."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


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


def money(pence: int | None) -> str:
    """'£12,345.67' from integer pence; whole pounds keep their pence: '£700,000.00'."""
    if pence is None:
        return ""
    sign = "-" if pence < 0 else ""
    pounds, rem = divmod(abs(int(pence)), 100)
    return f"{sign}£{pounds:,}.{rem:02d}"


def register(app) -> None:
    app.add_template_filter(govuk_date, "govuk_date")
    app.add_template_filter(govuk_datetime, "govuk_datetime")
    app.add_template_filter(govuk_time, "govuk_time")
    app.add_template_filter(money, "money")
    app.add_template_filter(countdown, "countdown")
    from app.text import render_text

    app.add_template_filter(render_text, "render_text")


class Countdown:
    def __init__(self, text: str, urgent: bool, overdue: bool):
        self.text, self.urgent, self.overdue = text, urgent, overdue

    def __str__(self) -> str:
        return self.text


def countdown(deadline: datetime | None, now: datetime | None = None) -> Countdown | None:
    """'5 days left', '1 day left', 'Due today at 12pm', '2 days overdue' - in London days."""
    if deadline is None:
        return None
    from app.models.base import utcnow

    now = now or utcnow()
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
