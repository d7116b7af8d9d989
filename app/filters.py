"""Template filters: GOV.UK style dates and times (Europe/London) and money from pence."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def to_london(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime: store and pass UTC-aware datetimes")
    return value.astimezone(LONDON)


def govuk_time(value: datetime) -> str:
    """'12pm', '9:30am', 'midnight'."""
    local = to_london(value)
    if local.hour == 0 and local.minute == 0:
        return "midnight"
    hour = local.hour % 12 or 12
    suffix = "am" if local.hour < 12 else "pm"
    if local.minute:
        return f"{hour}:{local.minute:02d}{suffix}"
    return f"{hour}{suffix}"


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
