"""A CSP manager runs their team in a real browser: invites someone (an email already in use first),
deactivates a contributor after confirming, and reactivates them.

Every page visited is checked with axe-core by the harness (tests/browser/conftest.py).
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import expect, sign_in

pytestmark = pytest.mark.browser

CSP = "Reading Community Safety Partnership"


def heading(page):
    return page.get_by_role("heading", level=1)


def test_a_manager_invites_and_deactivates_in_their_team(page, new_page, world):
    contributor = new_page()
    sign_in(contributor, world.emails["csp_contributor"])
    expect(contributor.get_by_role("navigation", name="Menu")).not_to_contain_text("Your team")

    sign_in(page, world.emails["csp_manager"])
    page.click_link("Your team")
    expect(heading(page)).to_have_text("Your team")
    expect(page.locator("caption")).to_have_text("2 people")
    expect(page.locator("main")).not_to_contain_text(world.emails["other_csp_manager"])

    page.click_button("Invite someone")
    expect(page.locator("main")).to_contain_text(CSP)
    page.get_by_label("Full name").fill("Jo Bloggs")
    page.get_by_label("Email address").fill(world.emails["lead_staff"])
    page.get_by_role("radio", name="CSP contributor").check()
    page.click_button("Send invitation")
    expect(page).to_have_title(re.compile(r"^Error: Invite someone"))
    message = "A person with this email address already has an account"
    expect(page.locator(".govuk-error-summary")).to_contain_text(message)
    expect(page.locator("#email-error")).to_contain_text(message)
    expect(page.get_by_label("Full name")).to_have_value("Jo Bloggs")

    page.get_by_label("Email address").fill("jo.bloggs@reading.example.org")
    page.click_button("Send invitation")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "Invitation sent to jo.bloggs@reading.example.org"
    )
    expect(heading(page)).to_have_text("Jo Bloggs")
    expect(page.locator(".govuk-summary-list")).to_contain_text("not signed up yet")

    page.click_link("Back to your team")
    expect(page.locator("caption")).to_have_text("3 people")
    with page.next_page():
        page.get_by_role("row").filter(has_text=world.emails["csp_contributor"]).get_by_role("link").click()
    page.click_button("Deactivate account")
    expect(heading(page)).to_contain_text("Are you sure you want to deactivate")
    page.click_button("Deactivate account")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("have been signed out")
    expect(page.locator(".govuk-summary-list")).to_contain_text("Deactivated")

    contributor.goto("/home")
    expect(contributor).to_have_url(re.compile(r"/sign-in"))

    page.click_button("Reactivate account")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("has been reactivated")
    expect(page.locator(".govuk-summary-list")).to_contain_text("Active")
