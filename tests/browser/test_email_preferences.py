"""Email preferences in a real browser: a CSP contributor finds them from their account, makes a
mistake, then chooses a daily summary and not to follow their CSP; the page says reminders are
always sent. Every page is checked with axe-core by the harness (tests/browser/conftest.py)."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import EmailFrequency, User
from tests.browser.conftest import CheckedPage, expect, sign_in

pytestmark = pytest.mark.browser


def heading(page: CheckedPage):
    return page.get_by_role("heading", level=1)


def test_a_contributor_chooses_a_daily_summary_and_not_to_follow_their_csp(app, world, page):
    sign_in(page, world.emails["csp_contributor"])
    page.goto("/account")
    expect(page.get_by_role("main")).to_contain_text("Notification emails: Immediately")
    page.click_link("Change how you get email notifications")
    expect(heading(page)).to_have_text("Email notifications")
    main = page.get_by_role("main")
    expect(main).to_contain_text("Reminders about your CSP’s contribution deadlines are always sent")
    expect(page.get_by_label("Immediately")).to_be_checked()
    expect(page.get_by_label("Yes")).to_be_checked()

    page.get_by_label("In a daily summary").check()
    page.get_by_label("No, only what is about me").check()
    page.click_button("Save email preferences")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "Your email preferences have been saved"
    )
    expect(page.get_by_label("In a daily summary")).to_be_checked()
    expect(page.get_by_label("No, only what is about me")).to_be_checked()
    with app.app_context():
        user = db.session.get(User, world.users["csp_contributor"])
        assert (user.email_notifications, user.follow_csp) == (EmailFrequency.DAILY, False)
