"""Long lists in a real browser: an administrator pages through the activity of their organisation
and through the reminders written for a round, with the GOV.UK pagination's numbered links and
previous and next. Every page is checked with axe-core by the harness (tests/browser/conftest.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.extensions import db
from app.models import Reminder, ReminderKind
from app.models.base import utcnow
from app.services import audit
from tests.browser.conftest import expect, sign_in

pytestmark = pytest.mark.browser

PAGE_SIZE = 50  # the configured page size (config.py): the live server is another process


def test_an_administrator_pages_through_activity_and_reminders(app, world, page):
    with app.app_context():
        for i in range(2 * PAGE_SIZE + 5):
            audit.record(None, "test.event", summary=f"Event number {i}", lead_bidder_id=world.lead_a)
            audit.record(None, "test.event", summary=f"Hampshire event {i}", lead_bidder_id=world.lead_b)
        for i in range(PAGE_SIZE + 2):
            db.session.add(Reminder(
                key=f"test:{i}", lead_bidder_id=world.lead_a, round_id=world.round_a,
                user_id=world.users["csp_manager"], kind=ReminderKind.CSP_BEFORE, days=7,
                slot_at=utcnow() - timedelta(days=i), cancelled_reason=f"Reminder number {i}",
            ))
        db.session.commit()

    sign_in(page, world.emails["lead_admin"])
    page.goto("/admin/activity")
    pagination = page.get_by_role("navigation", name="Pages of activity")
    expect(page).to_have_title("Activity (page 1 of 3) – Partnership Bid")
    expect(pagination.get_by_role("link", name="Page 1")).to_have_attribute("aria-current", "page")
    main = page.get_by_role("main")
    expect(main).not_to_contain_text("Hampshire")

    page.click_link("Next page")
    expect(page).to_have_title("Activity (page 2 of 3) – Partnership Bid")
    expect(pagination.get_by_role("link", name="Page 2")).to_have_attribute("aria-current", "page")
    with page.next_page():
        pagination.get_by_role("link", name="Page 3").click()
    expect(page).to_have_title("Activity (page 3 of 3) – Partnership Bid")
    expect(main).to_contain_text("Event number 0")  # the oldest, last
    expect(pagination.get_by_role("link", name="Next page")).to_have_count(0)
    page.click_link("Previous page")
    expect(page).to_have_title("Activity (page 2 of 3) – Partnership Bid")

    page.goto(f"/rounds/{world.round_a}/reminders")
    expect(page).to_have_title("Reminders for Early Intervention Youth Fund 2018 (page 1 of 2) – Partnership Bid")
    page.click_link("Next page")
    expect(page).to_have_title("Reminders for Early Intervention Youth Fund 2018 (page 2 of 2) – Partnership Bid")
    assert page.url.endswith("?page=2#sent")  # at the list, not the top of the page
    history = page.locator(".pb-reminders-history tbody tr")
    expect(history).to_have_count(2)
    expect(page.locator(".pb-reminders-history")).to_contain_text("Reminder number 0")  # the first written, last
