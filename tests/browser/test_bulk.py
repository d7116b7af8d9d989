"""Select all / Select none in a real browser: on the CSPs taking part in a round and on the review
overview's contributions; and, with JavaScript switched off, no such buttons and the forms still
work (the person ticks each box)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import TIMEOUT_MS, VIEWPORT, deliver_outbox, expect, sign_in
from tests.factories import PASSWORD
from tests.two_factor_codes import next_code

pytestmark = pytest.mark.browser

READING = "Reading Community Safety Partnership"
SLOUGH = "Safer Slough Partnership"


def test_select_all_and_none_for_the_csps_taking_part(page, world):
    sign_in(page, world.emails["lead_admin"])
    page.goto(f"/rounds/{world.round_a}/participants")
    boxes = page.locator("input[name^='take_part_']")
    expect(boxes).to_have_count(2)
    select_all = page.get_by_role("button", name="Select all", exact=True)
    select_none = page.get_by_role("button", name="Select none", exact=True)
    expect(select_all).to_have_attribute("type", "button")
    expect(select_none).to_have_attribute("type", "button")
    status = page.get_by_role("status")

    select_none.click()
    for n in range(2):
        expect(boxes.nth(n)).not_to_be_checked()
    expect(status).to_have_text("No CSPs selected")
    # GOV.UK Frontend hid each CSP's choice of manager with its box.
    expect(page.get_by_label(f"Manager for {READING}", exact=False)).to_be_hidden()

    select_all.click()
    for n in range(2):
        expect(boxes.nth(n)).to_be_checked()
    expect(status).to_have_text("2 CSPs selected")
    expect(page.get_by_label(f"Manager for {READING}", exact=False)).to_be_visible()

    # The buttons only change the boxes: the form is still sent with its own button.
    page.click_button("Save CSPs taking part")
    expect(page.locator(".govuk-notification-banner")).to_contain_text("2 CSPs are taking part")


def test_select_all_contributions_and_remind_their_csps(page, app, world, smtp_server):
    sign_in(page, world.emails["lead_staff"])
    page.goto(f"/review/rounds/{world.round_a}")
    boxes = page.locator("input[name='contributions']")
    expect(boxes).to_have_count(2)
    expect(page.get_by_label(f"Select {READING}")).not_to_be_checked()

    page.get_by_role("button", name="Select all", exact=True).click()
    expect(page.get_by_label(f"Select {READING}")).to_be_checked()
    expect(page.get_by_label(f"Select {SLOUGH}")).to_be_checked()
    expect(page.get_by_role("status")).to_have_text("2 contributions selected")
    page.get_by_role("button", name="Select none", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("No contributions selected")
    expect(page.get_by_label(f"Select {SLOUGH}")).not_to_be_checked()
    page.get_by_role("button", name="Select all", exact=True).click()

    page.click_button("Send a reminder to selected")
    expect(page.locator(".govuk-notification-banner")).to_contain_text("2 reminded now")
    deliver_outbox(app)
    assert sorted(m.to for m in smtp_server.messages) == sorted(
        [world.emails["csp_manager"], world.emails["csp_contributor"], world.emails["other_csp_manager"]]
    )


def test_without_javascript_there_are_no_select_buttons_and_the_forms_still_work(
    app, world, browser, live_server, smtp_server
):
    context = browser.new_context(base_url=live_server.url, locale="en-GB", viewport=VIEWPORT,
                                  java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    nojs = context.new_page()
    try:
        nojs.goto("/sign-in")
        nojs.get_by_label("Email address").fill(world.emails["lead_admin"])
        nojs.get_by_label("Password", exact=True).fill(PASSWORD)
        nojs.get_by_role("button", name="Sign in").click()
        nojs.wait_for_url("**/sign-in/two-factor")
        nojs.get_by_label("Security code").fill(next_code(world.emails["lead_admin"]))
        nojs.get_by_role("button", name="Continue").click()
        nojs.wait_for_url(lambda url: "/sign-in" not in url)

        nojs.goto(f"/rounds/{world.round_a}/participants")
        expect(nojs.get_by_role("button", name="Select all")).to_have_count(0)
        expect(nojs.get_by_role("button", name="Select none")).to_have_count(0)
        nojs.get_by_role("button", name="Save CSPs taking part").click()
        expect(nojs.locator(".govuk-notification-banner")).to_contain_text("2 CSPs are taking part")

        nojs.goto(f"/review/rounds/{world.round_a}")
        expect(nojs.get_by_role("button", name="Select all")).to_have_count(0)
        nojs.get_by_label(f"Select {READING}").check()
        nojs.get_by_role("button", name="Send a reminder to selected").click()
        expect(nojs.locator(".govuk-notification-banner")).to_contain_text("1 reminded now")
        expect(nojs.locator(".govuk-notification-banner")).to_contain_text(READING)
    finally:
        context.close()
    deliver_outbox(app)
    assert sorted(m.to for m in smtp_server.messages) == sorted(
        [world.emails["csp_manager"], world.emails["csp_contributor"]]
    )


def test_build_first_drafts_for_all_sections_and_choose_which_edited_one_to_replace(page, app, world):
    from app.extensions import db
    from app.models import Round, User
    from app.services import merge
    from tests.test_merge import accept_both

    accept_both(app, world)
    with app.test_request_context("/"):
        staff = db.session.get(User, world.users["lead_staff"])
        bid = merge.bid_of(db.session.get(Round, world.round_a))
        section = next(s for s in bid.round.sections if s.id == world.section_a)
        revision = merge.build_draft(staff, bid, section, 0)
        merge.save_text(staff, bid, section, "The lead bidder's own words.", revision.number)
        db.session.commit()
        name = f"{section.number}. {section.title}"

    sign_in(page, world.emails["lead_staff"])
    page.goto(f"/bid/rounds/{world.round_a}")
    page.click_button("Build first drafts for all sections")
    expect(page.get_by_role("heading", level=1)).to_have_text("Replace edited sections with new first drafts?")
    expect(page.locator(".govuk-notification-banner").first).to_contain_text("First drafts built for")
    box = page.get_by_label(name, exact=True)
    expect(box).not_to_be_checked()
    box.check()
    page.click_button("Replace the selected sections")
    banner = page.locator(".govuk-notification-banner")
    expect(banner).to_contain_text("1 edited section replaced with a new first draft")
    expect(banner).to_contain_text(name)


def test_accept_selected_asks_first_and_says_which_cannot_be_accepted(page, app, world):
    from app.models import ContributionStatus
    from tests.test_merge import set_status

    set_status(app, world.contribution_a1, ContributionStatus.SUBMITTED)
    sign_in(page, world.emails["lead_staff"])
    page.goto(f"/review/rounds/{world.round_a}")
    page.get_by_label(f"Select {READING}").check()
    page.get_by_label(f"Select {SLOUGH}").check()
    page.click_button("Accept selected")
    expect(page.get_by_role("heading", level=1)).to_have_text("Accept the selected contributions?")
    expect(page.get_by_role("main")).to_contain_text("1 cannot be accepted")
    expect(page.locator(".govuk-summary-list")).to_contain_text(SLOUGH)
    page.click_button("Accept 1 contribution")
    banner = page.locator(".govuk-notification-banner")
    expect(banner).to_contain_text("1 accepted")
    expect(banner).to_contain_text(READING)
    expect(page.get_by_role("row").filter(has_text=READING)).to_contain_text("Accepted")
