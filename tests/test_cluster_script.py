"""The proof that the service runs on several servers (benchmarks/cluster.py) takes minutes and is run
by hand (README, "Several servers"); the parts of it that decide something are tested here: the
reminders it makes due are due on any day, and its SMTP server records every email it counts."""

from __future__ import annotations

import smtplib
from datetime import date, time, timedelta
from email.message import EmailMessage

import time_machine

from app.dates import LONDON, london_to_utc
from app.models.base import utcnow
from app.services import reminders
from app.workdays import is_working_day
from benchmarks.cluster import _percentile, make_reminders_due


def _next_day(ok) -> date:
    day = utcnow().astimezone(LONDON).date() + timedelta(days=1)
    while not ok(day):
        day += timedelta(days=1)
    return day


def test_reminders_made_due_on_a_working_day_are_written_once(app, world):
    day = _next_day(is_working_day)
    with time_machine.travel(london_to_utc(day, time(10, 30)), tick=False):
        rounds, send_time, catch_up = make_reminders_due(app)
        with app.app_context():
            first, again = reminders.run(), reminders.run()
    assert rounds >= 1 and send_time == "10:29" and catch_up is None
    assert first.written > 0 and first.skipped == 0
    assert again.written == 0  # the next minute's run finds them written


def test_on_a_day_off_the_last_working_days_reminders_are_still_sent(app, world, monkeypatch):
    sunday = _next_day(lambda d: d.weekday() == 6)
    with time_machine.travel(london_to_utc(sunday, time(15)), tick=False):
        _, send_time, catch_up = make_reminders_due(app)
        monkeypatch.setitem(app.config, "REMINDER_CATCH_UP_HOURS", catch_up)
        with app.app_context():
            report = reminders.run()
    assert send_time == "14:59" and catch_up >= 48  # Friday's (or an earlier working day's) reminders
    assert report.written > 0 and report.skipped == 0


def test_the_smtp_server_records_each_emails_recipients_and_subject():
    from benchmarks.outbox import Server

    server = Server(record=True)
    try:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "a@example.org", "b@example.org", "Your contribution is due in 7 days"
        msg["X-Partnership-Bid-Key"] = "r:csp:1:2"
        msg.set_content("Hello")
        with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as smtp:
            smtp.send_message(msg)
        assert server.messages() == [{"to": ["b@example.org"], "subject": "Your contribution is due in 7 days",
                                      "key": "r:csp:1:2"}]
        assert server.report() == {"messages": 1, "distinct": 1, "duplicates": 0}
    finally:
        server.stop()


def test_percentiles_are_nearest_rank():
    values = [float(n) for n in range(100, 0, -1)]
    assert _percentile(values, 95) == 95 and _percentile(values, 50) == 50 and _percentile([7.0], 95) == 7
