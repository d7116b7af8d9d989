"""Jinja filters: registers the formatting functions with the templates, and nothing more.

The functions live where the rest of the application can use them without templates: dates and
times in app.dates (GOV.UK style, Europe/London), money in app.money, text layout in app.text.
Services, exports and emails import from there, never from here (tests/test_layers.py checks).
"""

from __future__ import annotations

from app.dates import countdown, govuk_date, govuk_datetime, govuk_time
from app.money import format_money
from app.text import render_text


def register(app) -> None:
    app.add_template_filter(govuk_date, "govuk_date")
    app.add_template_filter(govuk_datetime, "govuk_datetime")
    app.add_template_filter(govuk_time, "govuk_time")
    app.add_template_filter(format_money, "money")
    app.add_template_filter(countdown, "countdown")
    app.add_template_filter(render_text, "render_text")
