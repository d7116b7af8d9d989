"""Reminders (issue 6) in a real browser: a lead bidder administrator opens a round's reminders,
changes the schedule (after a validation error), sees what is coming up, and once reminders have
run sees a sent reminder and sends it again. Every page is checked with axe-core and screenshotted
by the harness (tests/browser/conftest.py)."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from app.dates import london_to_utc, to_london
from app.extensions import db
from app.models import Round
from app.models.base import utcnow
from app.services import reminders as service
from app.workdays import is_working_day
from tests.browser.conftest import CheckedPage, deliver_outbox, expect, sign_in

pytestmark = pytest.mark.browser


def heading(page: CheckedPage):
    return page.get_by_role("heading", level=1)


def test_an_administrator_changes_the_schedule_and_sends_a_reminder_again(app, world, page, smtp_server):
    today = to_london(utcnow()).date()
    # A deadline 10 or more days away whose 5-day and 2-day reminders fall on working days (a
    # reminder that would fall on a weekend or a bank holiday moves to the working day before).
    deadline_day = today + timedelta(days=10)
    while not all(is_working_day(deadline_day - timedelta(days=n)) for n in (0, 2, 5)):
        deadline_day += timedelta(days=1)
    with app.app_context():
        rnd = db.session.get(Round, world.round_a)
        rnd.opened_at = utcnow() - timedelta(days=10)
        rnd.internal_deadline = london_to_utc(deadline_day, time(12))
        rnd.funder_deadline = london_to_utc(deadline_day + timedelta(days=14), time(12))
        db.session.commit()

    sign_in(page, world.emails["lead_admin"])
    page.goto(f"/rounds/{world.round_a}")
    page.click_link("Reminders")
    expect(heading(page)).to_have_text("Reminders")
    main = page.get_by_role("main")
    expect(main).to_contain_text("Reminders are sent at 9am UK time.")
    expect(main).to_contain_text("No reminders have been sent for this round yet.")

    page.click_link("Change the schedule")
    expect(heading(page)).to_have_text("Reminder schedule")
    expect(page.get_by_label("Days before their deadline")).to_have_value("14, 7, 3, 1")
    page.get_by_label("Time reminders are sent (UK time)").fill("8:30am")
    page.get_by_label("Days before their deadline").fill("10, 5, 5")
    page.click_button("Save schedule")
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Days before their deadline must not include the same number twice (5)")
    expect(page.get_by_label("Days before their deadline")).to_have_value("10, 5, 5")
    expect(page.get_by_label("Time reminders are sent (UK time)")).to_have_value("8:30am")

    page.get_by_label("Days before their deadline").fill("10, 5, 2")
    page.click_button("Save schedule")
    expect(heading(page)).to_have_text("Reminders")
    expect(page.locator(".govuk-notification-banner")).to_contain_text("The reminder schedule has been saved")
    expect(main).to_contain_text("Reminders are sent at 8:30am UK time.")
    expect(main).to_contain_text("reminded 10, 5 and 2 days before their deadline")
    upcoming = page.locator("#upcoming + .pb-table-scroll table")
    expect(upcoming).to_contain_text("Contribution due soon (5 days before)")
    expect(upcoming).to_contain_text("Reading Community Safety Partnership")

    # The scheduler runs at 8:35am on the day of the 5-day reminders, and the outbox delivers them.
    with app.app_context():
        assert service.run(now=london_to_utc(deadline_day - timedelta(days=5), time(8, 35))).written >= 3
    deliver_outbox(app)
    manager_mail = smtp_server.to(world.emails["csp_manager"])
    assert manager_mail and manager_mail[0].subject.endswith("is due in 5 days")

    page.goto(f"/rounds/{world.round_a}/reminders")
    expect(page.locator("#upcoming + .pb-table-scroll table")).not_to_contain_text("(5 days before)")  # written already
    sent = page.locator("#sent + .pb-table-scroll table")
    row = sent.locator("tr", has_text=world.emails["csp_manager"]).first
    expect(row).to_contain_text("Sent")
    expect(row).to_contain_text("Contribution due soon: Reading Community Safety Partnership")
    with page.next_page():
        row.get_by_role("button", name="Send again").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("The reminder will be sent to")
    again = page.locator("#sent + .pb-table-scroll table tr", has_text="Sent again by")
    expect(again).to_contain_text("Waiting to send")

    smtp_server.clear()
    deliver_outbox(app)
    assert [m.to for m in smtp_server.messages] == [world.emails["csp_manager"]]
    page.goto(f"/rounds/{world.round_a}/reminders")
    expect(page.locator("#sent + .pb-table-scroll table tr", has_text="Sent again by")).to_contain_text("Sent")
