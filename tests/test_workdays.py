"""Working days in England and Wales (app/workdays.py), the bank holidays file shipped with the
service and `flask bank-holidays update` against a local HTTP server (no internet), and reminders
moved off weekends and bank holidays with the clock moved."""

from __future__ import annotations

import json
import shutil
import threading
from datetime import date, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app import workdays
from app.dates import london_to_utc
from app.models.deadline import ReminderKind
from app.workdays import (
    DEFAULT_FILE,
    BankHolidayError,
    is_working_day,
    next_working_day,
    parse,
    previous_working_day,
)
from tests.test_reminders import ONLY_CSP, _slot_times, deliver, run, set_round, utc

# --- the days -----------------------------------------------------------------------------------------


def test_the_shipped_file_has_england_and_wales_bank_holidays_2024_to_2028():
    days = parse(DEFAULT_FILE.read_bytes())
    assert min(days) == date(2024, 1, 1) and max(days) == date(2028, 12, 26)
    assert {date(2026, 4, 3), date(2026, 4, 6), date(2026, 5, 25), date(2026, 12, 25), date(2026, 12, 28)} <= days
    assert date(2026, 12, 26) not in days  # a Saturday: Monday 28 December is the substitute day
    assert {d.year for d in days} == {2024, 2025, 2026, 2027, 2028}
    assert all(d.weekday() < 5 for d in days)
    events = json.loads(DEFAULT_FILE.read_text())["england-and-wales"]["events"]
    assert {"title": "Boxing Day", "date": "2026-12-28", "notes": "Substitute day", "bunting": True} in events


def test_working_days_skip_weekends_and_bank_holidays(app):
    with app.app_context():
        assert is_working_day(date(2026, 4, 2))  # Thursday before Easter
        assert not is_working_day(date(2026, 4, 3))  # Good Friday
        assert not is_working_day(date(2026, 4, 4)) and not is_working_day(date(2026, 4, 5))
        assert not is_working_day(date(2026, 4, 6))  # Easter Monday
        assert next_working_day(date(2026, 4, 2)) == date(2026, 4, 7)
        assert previous_working_day(date(2026, 4, 7)) == date(2026, 4, 2)
        assert next_working_day(date(2026, 12, 24)) == date(2026, 12, 29)
        assert previous_working_day(date(2027, 1, 4)) == date(2026, 12, 31)  # New Year's Day 2027 is a Friday
        assert next_working_day(date(2027, 12, 24)) == date(2027, 12, 29)  # two substitute days
        assert previous_working_day(date(2026, 11, 30)) == date(2026, 11, 27)  # an ordinary weekend


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<html>Service unavailable</html>", "not valid JSON"),
        (b'{"scotland": {"division": "scotland", "events": []}}', "no “england-and-wales” division"),
        (b'{"england-and-wales": {"division": "england-and-wales", "events": []}}', "are empty"),
        (b'{"england-and-wales": {"events": [{"title": "x", "date": "2026-02-30"}]}}', "not a date"),
        (b'{"england-and-wales": {"events": [{"title": "x"}]}}', "not a date"),
    ],
)
def test_unusable_bank_holiday_data_is_refused(data, message):
    with pytest.raises(BankHolidayError, match=message):
        parse(data)


# --- flask bank-holidays update -----------------------------------------------------------------------


GOOD = {
    "england-and-wales": {
        "division": "england-and-wales",
        "events": [
            {"title": "New Year’s Day", "date": "2029-01-01", "notes": "", "bunting": True},
            {"title": "Good Friday", "date": "2029-03-30", "notes": "", "bunting": False},
            {"title": "An extra bank holiday", "date": "2029-06-12", "notes": "", "bunting": True},
        ],
    },
    "scotland": {"division": "scotland", "events": [{"title": "2 January", "date": "2029-01-02"}]},
}


@pytest.fixture
def gov_uk():
    """A local HTTP server answering like gov.uk: `pages[path] = (status, body)`."""
    pages: dict[str, tuple[int, bytes]] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the standard library's name
            status, body = pages.get(self.path, (404, b"Not found"))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield pages, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def holidays_file(app, tmp_path, monkeypatch):
    """The app reads a copy of the shipped file, so the command may replace it."""
    path = tmp_path / "bank-holidays.json"
    shutil.copy(DEFAULT_FILE, path)
    monkeypatch.setitem(app.config, "BANK_HOLIDAYS_FILE", str(path))
    return path


def test_update_downloads_checks_and_replaces_the_file(app, gov_uk, holidays_file):
    pages, base = gov_uk
    pages["/bank-holidays.json"] = (200, json.dumps(GOOD).encode())
    runner = app.test_cli_runner()
    with app.app_context():
        assert is_working_day(date(2029, 6, 12))
    result = runner.invoke(args=["bank-holidays", "update", "--url", f"{base}/bank-holidays.json"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        f"Updated {holidays_file}: 3 england-and-wales bank holidays, from 1 January 2029 to 12 June 2029."
    )
    assert json.loads(holidays_file.read_text()) == GOOD
    with app.app_context():  # read again because the file changed: no restart needed
        assert not is_working_day(date(2029, 6, 12))
        assert workdays.holidays_file() == holidays_file
    assert [p.name for p in holidays_file.parent.iterdir()] == ["bank-holidays.json"]  # no temporary file left


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (200, b"<html>Sorry, we are down</html>", "The bank holidays are not valid JSON"),
        (200, b'{"england-and-wales": {"division": "england-and-wales", "events": []}}', "are empty"),
        (200, b'{"northern-ireland": {"division": "northern-ireland", "events": [{"date": "2029-03-17"}]}}',
         "no “england-and-wales” division"),
        (200, b'{"england-and-wales": {"events": [{"date": "12/06/2029"}]}}', "not a date"),
        (500, b"Server error", "Could not download"),
    ],
)
def test_bad_data_is_refused_and_the_file_is_unchanged(app, gov_uk, holidays_file, status, body, message):
    pages, base = gov_uk
    pages["/bank-holidays.json"] = (status, body)
    before = holidays_file.read_bytes()
    result = app.test_cli_runner().invoke(args=["bank-holidays", "update", "--url", f"{base}/bank-holidays.json"])
    assert result.exit_code != 0
    assert message in result.output
    assert holidays_file.read_bytes() == before
    assert [p.name for p in holidays_file.parent.iterdir()] == ["bank-holidays.json"]


def test_update_refuses_addresses_that_are_not_web_addresses(app, holidays_file):
    result = app.test_cli_runner().invoke(args=["bank-holidays", "update", "--url", "file:///etc/passwd"])
    assert result.exit_code != 0 and "Give an http or https address" in result.output


# --- reminders on working days only -------------------------------------------------------------------

TUE_7_APRIL_NOON = london_to_utc(date(2026, 4, 7), time(12))  # the first working day after Easter


def test_a_deadline_after_the_easter_bank_holiday_weekend(app, world, smtp_server):
    """Deadline at noon on Tuesday 7 April 2026. 1 day before is Easter Monday and 3 days before
    Saturday: both go on Thursday 2 April (Good Friday is a bank holiday), once, saying 5 days.
    Overdue reminders go on the working days after."""
    set_round(app, world, internal=TUE_7_APRIL_NOON, funder=TUE_7_APRIL_NOON + timedelta(days=21), **ONLY_CSP)
    slots = _slot_times(app, world, world.contribution_a1)
    assert slots == {
        (ReminderKind.CSP_BEFORE, 14): utc(2026, 3, 24, 9, 0),
        (ReminderKind.CSP_BEFORE, 7): utc(2026, 3, 31, 8, 0),
        (ReminderKind.CSP_BEFORE, 5): utc(2026, 4, 2, 8, 0),
        (ReminderKind.CSP_DUE, 0): utc(2026, 4, 7, 8, 0),
        (ReminderKind.CSP_OVERDUE, 1): utc(2026, 4, 8, 8, 0),
        (ReminderKind.CSP_OVERDUE, 2): utc(2026, 4, 9, 8, 0),
        (ReminderKind.CSP_OVERDUE, 3): utc(2026, 4, 10, 8, 0),
        (ReminderKind.CSP_OVERDUE, 4): utc(2026, 4, 13, 8, 0),  # Monday: not at the weekend
        (ReminderKind.CSP_OVERDUE, 5): utc(2026, 4, 14, 8, 0),
    }
    assert run(app, utc(2026, 4, 2, 8, 5)).written == 3
    deliver(app)
    [mail] = smtp_server.to(world.emails["csp_manager"])
    assert mail.subject.endswith("is due in 5 days") and "5 days left." in mail.text
    for day in (3, 4, 5, 6):  # Good Friday, the weekend, Easter Monday: nothing
        for hour in (8, 9, 12):
            report = run(app, utc(2026, 4, day, hour, 0))
            assert (report.written, report.skipped) == (0, 0), (day, hour)
    assert run(app, utc(2026, 4, 7, 8, 5)).written == 3  # due today
    deliver(app)
    assert smtp_server.to(world.emails["csp_manager"])[-1].subject.endswith("is due today at 12pm")


def test_funder_reminders_and_the_lead_summary_keep_off_days_off(app, world, smtp_server):
    """The funder's deadline on Tuesday 29 December 2026: the reminders before it come on working
    days (two that land on the same day are sent once); the lead's daily summary skips Christmas."""
    funder = london_to_utc(date(2026, 12, 29), time(17))
    internal = london_to_utc(date(2026, 12, 22), time(12))
    set_round(app, world, internal=internal, funder=funder, csp_days_before=[], csp_on_the_day=False,
              csp_overdue_daily=False, funder_days_before=[3, 1], lead_digest_days=1)
    with app.app_context():
        from app.extensions import db
        from app.models import Round, User
        from app.services import reminders as service

        rnd = db.session.get(Round, world.round_a)
        admin = db.session.get(User, world.users["lead_admin"])
        slots = service.lead_slots(service.schedule_for(rnd), rnd, [admin])
        funder_slots = sorted((s.slot_at, s.days) for s in slots if s.kind == ReminderKind.FUNDER_BEFORE)
        digest_days = sorted(s.slot_at.date() for s in slots if s.kind == ReminderKind.LEAD_DIGEST)
    # 3 days before is Saturday 26th, 1 day before Monday 28th (a bank holiday): both on Christmas Eve.
    assert funder_slots == [(utc(2026, 12, 24, 9, 0), 5), (utc(2026, 12, 29, 9, 0), 0)]
    assert digest_days == [date(2026, 12, 21), date(2026, 12, 22), date(2026, 12, 23), date(2026, 12, 24),
                           date(2026, 12, 29)]
