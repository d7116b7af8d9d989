"""What changed since changes were asked for, in a real browser: lead staff ask for changes, the CSP
manager edits the section and submits again, and the reviewer sees the resubmission flagged on the
round overview, opens what changed and reads the words added and removed; accepting clears the flag.

Every page visited is checked with axe-core and screenshotted by the harness (tests/browser/conftest.py).
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import expect, sign_in
from tests.browser.test_review import CSP, submitted  # noqa: F401

pytestmark = pytest.mark.browser

TAG = "Resubmitted – changes to review"


def test_the_reviewer_reads_the_words_added_and_removed_since_asking_for_changes(
    page, new_page, app, world, live_server, submitted  # noqa: F811
):
    section = submitted  # "2. Local need and evidence"
    title = section.split(". ", 1)[1]
    lead = page
    sign_in(lead, world.emails["lead_staff"])
    lead.goto(f"/review/contributions/{world.contribution_a1}")
    lead.click_button("Ask for changes")
    lead.get_by_label(section, exact=True).check()
    lead.get_by_label("Message to the CSP").fill("Please say where the evidence comes from.")
    lead.click_button("Send back for changes")
    expect(lead.locator("main")).to_contain_text("Changes requested")

    # The CSP manager rewrites part of the section and submits again.
    csp = new_page()
    sign_in(csp, world.emails["csp_manager"])
    csp.goto(f"/contributions/{world.contribution_a1}")
    with csp.next_page():
        csp.locator(".govuk-task-list").get_by_role("link", name=section).click()
    text = csp.get_by_label("Your text", exact=True)
    expect(text).to_have_value(f"Our text for {title}.")
    text.fill(f"Our evidence for {title}. From the 2017/18 problem profile.")
    csp.click_button("Mark as completed")
    csp.click_button("Check your answers")
    csp.click_button("Accept and submit")
    expect(csp.get_by_role("heading", name="Contribution submitted")).to_be_visible()

    # The round overview flags it; the review page links to what changed.
    lead.goto(f"/review/rounds/{world.round_a}")
    row = lead.get_by_role("row").filter(has_text=CSP)
    expect(row).to_contain_text(TAG)
    lead.click_link(CSP)
    expect(lead.locator("#what-changed")).to_contain_text("What changed since you requested changes")
    lead.click_link("See what changed since you requested changes")
    expect(lead.get_by_role("heading", level=1)).to_have_text("What changed since you requested changes")

    card = lead.locator(f"#change-section-{world.section_a}")
    expect(card).to_contain_text("Changes asked for")
    expect(card).to_contain_text("6 words added, 1 word removed")
    # Added and removed words are marked, and say so in words for screen readers.
    added, removed = card.locator("ins"), card.locator("del")
    expect(added).to_have_count(2)
    expect(added.nth(0)).to_have_text("added text: evidence (end of added text)")
    expect(added.nth(1)).to_have_text("added text: From the 2017/18 problem profile. (end of added text)")
    expect(removed).to_have_count(1)
    expect(removed).to_have_text("removed text: text (end of removed text)")
    # What a sighted reader sees: struck through and underlined, not colour alone.
    assert removed.evaluate("e => getComputedStyle(e).textDecorationLine") == "line-through"
    assert added.nth(0).evaluate("e => getComputedStyle(e).textDecorationLine") == "underline"
    # Sections and parts nobody touched say so.
    expect(lead.locator("#change-budget")).to_contain_text("No changes")
    other = lead.locator(".pb-section-change").filter(has_not=lead.locator("ins, del")).first
    expect(other).to_contain_text("No changes")

    # Accepting is the decision: the flag goes from the overview.
    lead.click_link("Back to the review")
    lead.click_button("Accept contribution")
    expect(lead.locator(".govuk-notification-banner")).to_contain_text("has been accepted")
    lead.goto(f"/review/rounds/{world.round_a}")
    expect(lead.get_by_role("row").filter(has_text=CSP)).to_contain_text("Accepted")
    expect(lead.locator("main")).not_to_contain_text(TAG)
