"""Deadlines (issue 6) in a real browser: an administrator moves the funder's deadline with a reason,
moving the internal deadline too, sees the banner and the history; a CSP manager then sees the new
deadline and its countdown on their contribution page, and has been emailed about it.

Every page is checked with axe-core and screenshotted by the harness (tests/browser/conftest.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.dates import LONDON, countdown, govuk_datetime
from app.extensions import db
from app.models import Round
from tests.browser.conftest import CheckedPage, deliver_outbox, expect, only_email_to, sign_in, sign_out

pytestmark = pytest.mark.browser


def heading(page: CheckedPage):
    return page.get_by_role("heading", level=1)


def test_admin_moves_the_funder_deadline_and_a_csp_manager_sees_it(app, world, page, smtp_server):
    with app.app_context():
        rnd = db.session.get(Round, world.round_a)
        old_internal, old_funder = rnd.internal_deadline, rnd.funder_deadline
    new_funder_local = (old_funder + timedelta(days=7)).astimezone(LONDON).replace(hour=12, minute=0)

    sign_in(page, world.emails["lead_admin"])
    page.goto(f"/rounds/{world.round_a}")
    page.click_link("Deadlines")
    expect(heading(page)).to_have_text("Deadlines")
    main = page.get_by_role("main")
    expect(main).to_contain_text(govuk_datetime(old_internal))
    expect(main).to_contain_text("No deadline has been changed yet")

    page.click_link("Change the funder’s deadline")
    expect(heading(page)).to_have_text("Change the funder’s deadline")
    # A mistake first: no reason. What was typed is kept.
    page.get_by_label("Day").fill(str(new_funder_local.day))
    page.get_by_label("Month").fill(str(new_funder_local.month))
    page.get_by_label("Year").fill(str(new_funder_local.year))
    page.get_by_label("Time of the new deadline").fill("12pm")
    page.get_by_label("Move the internal deadline by the same amount").check()
    page.click_button("Save and email everyone")
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the reason for the change")
    expect(page.get_by_label("Time of the new deadline")).to_have_value("12pm")
    expect(page.get_by_label("Move the internal deadline by the same amount")).to_be_checked()

    page.get_by_label("Reason for the change").fill("Home Office extended the deadline by a week")
    page.click_button("Save and email everyone")
    expect(heading(page)).to_have_text("Deadlines")

    with app.app_context():
        rnd = db.session.get(Round, world.round_a)
        new_funder, new_internal = rnd.funder_deadline, rnd.internal_deadline
    assert new_internal - old_internal == new_funder - old_funder
    banner = page.locator(".govuk-notification-banner")
    expect(banner).to_contain_text(
        f"The funder’s deadline is now {govuk_datetime(new_funder)} and the internal deadline is now "
        f"{govuk_datetime(new_internal)}. Everyone in the round has been emailed."
    )
    history = page.locator(".pb-deadline-history tbody tr")
    expect(history).to_have_count(2)
    expect(history.nth(0)).to_contain_text("Moved with the funder’s deadline")
    expect(history.nth(1)).to_contain_text("Funder’s deadline")
    expect(history.nth(1)).to_contain_text("Home Office extended the deadline by a week")

    # The new deadlines, with their countdowns, wherever they matter to the lead.
    for path in ("/home", "/rounds", f"/rounds/{world.round_a}", f"/bid/rounds/{world.round_a}"):
        page.goto(path)
        expect(page.get_by_role("main")).to_contain_text(govuk_datetime(new_funder))
        expect(page.get_by_role("main")).to_contain_text(countdown(new_funder).text)
    # Once the round is open, its details form shows the deadlines without changing them.
    page.goto(f"/rounds/{world.round_a}/edit")
    expect(page.get_by_label("Day")).to_have_count(0)
    page.click_link("Change a deadline")
    expect(heading(page)).to_have_text("Deadlines")
    sign_out(page)

    deliver_outbox(app)
    email = only_email_to(smtp_server, world.emails["csp_manager"])
    assert govuk_datetime(new_internal) in email.text

    sign_in(page, world.emails["csp_manager"])
    page.goto(f"/contributions/{world.contribution_a1}")
    main = page.get_by_role("main")
    expect(main).to_contain_text(f"Deadline: {govuk_datetime(new_internal)}")
    expect(main).to_contain_text(countdown(new_internal).text)  # "21 days left"
