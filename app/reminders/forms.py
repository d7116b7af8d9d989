"""The reminder schedule form: what people type ("9am", "14, 7, 3, 1"), with GOV.UK messages."""

from __future__ import annotations

import re

from govuk_frontend_wtf.wtforms_widgets import GovCheckboxInput, GovSubmitInput, GovTextInput
from wtforms import BooleanField, StringField, SubmitField
from wtforms.validators import ValidationError

from app.dates import TimeError, parse_time
from app.forms import BaseForm, Required
from app.services.reminders import MAX_DAYS_BEFORE, MAX_DIGEST_DAYS, MAX_OVERDUE_LIMIT


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def parse_days(text: str, what: str) -> list[int]:
    """'14, 7, 3, 1' (or '14 7 3 1') -> [14, 7, 3, 1]; empty -> []. Whole numbers 1-60, no repeats."""
    parts = [p for p in re.split(r"[,\s]+", (text or "").strip()) if p]
    numbers = []
    for part in parts:
        if not part.isdigit() or not 1 <= int(part) <= MAX_DAYS_BEFORE:
            raise ValidationError(
                f"{what} must be whole numbers from 1 to {MAX_DAYS_BEFORE}, separated by commas, like 14, 7, 3, 1"
            )
        numbers.append(int(part))
    repeated = sorted({n for n in numbers if numbers.count(n) > 1})
    if repeated:
        listed = ", ".join(str(n) for n in repeated)
        raise ValidationError(f"{what} must not include the same number twice ({listed})")
    return sorted(numbers, reverse=True)


def days_text(days: list[int]) -> str:
    return ", ".join(str(d) for d in sorted(days, reverse=True))


def _number(field, low: int, high: int, message: str) -> int:
    text = (field.data or "").strip()
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValidationError(message)
    return int(text)


def _text_field(label: str, description: str, required: str | None = None) -> StringField:
    return StringField(
        label,
        description=description,
        validators=[Required(message=required)] if required else [],
        filters=[_strip],
        widget=GovTextInput(),
    )


class ScheduleForm(BaseForm):
    enabled = BooleanField("Send reminders for this round", widget=GovCheckboxInput())
    send_time = _text_field(
        "Time reminders are sent (UK time)",
        "For example, 9am or 8:30am. Reminders go at this time in the UK, in summer time and winter time.",
        required="Enter the time reminders are sent",
    )
    csp_days_before = _text_field(
        "Days before their deadline",
        "For example, 14, 7, 3, 1. Leave empty to send no reminders before the day.",
    )
    csp_on_the_day = BooleanField("Remind them on the day of their deadline", widget=GovCheckboxInput())
    csp_overdue_daily = BooleanField("Remind them every day once overdue", widget=GovCheckboxInput())
    csp_overdue_limit = _text_field(
        "Most overdue reminders to send",
        f"A whole number from 0 to {MAX_OVERDUE_LIMIT}.",
        required="Enter the most overdue reminders to send",
    )
    lead_digest = BooleanField("Send a daily summary of the round", widget=GovCheckboxInput())
    lead_digest_days = _text_field(
        "Days before the internal deadline the daily summary starts",
        "It carries on every day until the funder’s deadline, unless the bid has been submitted.",
        required="Enter how many days before the internal deadline the daily summary starts",
    )
    funder_days_before = _text_field(
        "Days before the funder’s deadline",
        "For example, 14, 7, 3, 1. Leave empty to send no reminders before the day.",
    )
    funder_on_the_day = BooleanField("Remind them on the day of the funder’s deadline", widget=GovCheckboxInput())
    submit = SubmitField("Save schedule", widget=GovSubmitInput())

    def validate_send_time(self, field):
        try:
            parse_time(field.data)
        except TimeError as exc:
            raise ValidationError(str(exc).replace("Enter a time like", "Enter the time like")) from None

    def validate_csp_days_before(self, field):
        parse_days(field.data, "Days before their deadline")

    def validate_funder_days_before(self, field):
        parse_days(field.data, "Days before the funder’s deadline")

    def validate_csp_overdue_limit(self, field):
        _number(
            field, 0, MAX_OVERDUE_LIMIT,
            f"The most overdue reminders to send must be a whole number from 0 to {MAX_OVERDUE_LIMIT}",
        )

    def validate_lead_digest_days(self, field):
        _number(
            field, 1, MAX_DIGEST_DAYS,
            f"Days before the internal deadline the daily summary starts must be a whole number from 1 to "
            f"{MAX_DIGEST_DAYS}",
        )

    def fill(self, schedule) -> None:
        from datetime import date

        from app.dates import london_to_utc, utc_to_london_parts

        self.enabled.data = schedule.enabled
        self.send_time.data = utc_to_london_parts(london_to_utc(date(2026, 1, 15), parse_time(schedule.send_time)))[1]
        self.csp_days_before.data = days_text(schedule.csp_days_before or [])
        self.csp_on_the_day.data = schedule.csp_on_the_day
        self.csp_overdue_daily.data = schedule.csp_overdue_daily
        self.csp_overdue_limit.data = str(schedule.csp_overdue_limit)
        self.lead_digest.data = schedule.lead_digest
        self.lead_digest_days.data = str(schedule.lead_digest_days)
        self.funder_days_before.data = days_text(schedule.funder_days_before or [])
        self.funder_on_the_day.data = schedule.funder_on_the_day

    def values(self) -> dict:
        return {
            "enabled": bool(self.enabled.data),
            "send_time": self.send_time.data,
            "csp_days_before": parse_days(self.csp_days_before.data, ""),
            "csp_on_the_day": bool(self.csp_on_the_day.data),
            "csp_overdue_daily": bool(self.csp_overdue_daily.data),
            "csp_overdue_limit": int(self.csp_overdue_limit.data),
            "lead_digest": bool(self.lead_digest.data),
            "lead_digest_days": int(self.lead_digest_days.data),
            "funder_days_before": parse_days(self.funder_days_before.data, ""),
            "funder_on_the_day": bool(self.funder_on_the_day.data),
        }
