"""The collective bid's merged sections in a real browser: lead staff build the first draft of a
section from two accepted contributions, edit and save it, then see a CSP's later change flagged
with its differences and re-merge it.

Every page visited is checked with axe-core and screenshotted by the harness (tests/browser/conftest.py).
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import expect, sign_in
from tests.test_merge import READING, READING_TEXT, SLOUGH, SLOUGH_TEXT, accept_both, write

pytestmark = pytest.mark.browser

SECTION = "2. Local need and evidence"
INTRO = "Across Thames Valley, knife crime among young people is rising."


def test_lead_staff_build_edit_and_remerge_a_section(page, world, app):
    accept_both(app, world)
    sign_in(page, world.emails["lead_staff"])
    page.goto(f"/rounds/{world.round_a}")
    page.click_button("Collective bid")
    expect(page.get_by_role("heading", level=1)).to_have_text("Collective bid")
    order = page.locator(".pb-merge-order tbody tr")
    expect(order.nth(0)).to_contain_text(READING)
    expect(order.nth(1)).to_contain_text(SLOUGH)

    page.click_link(SECTION)
    expect(page.get_by_role("heading", level=1)).to_have_text(SECTION)
    sources = page.locator(".pb-merge-source")
    expect(sources).to_have_count(2)
    expect(sources.nth(0)).to_contain_text(READING_TEXT)
    expect(sources.nth(1)).to_contain_text(SLOUGH_TEXT)
    page.click_button("Build the first draft")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("first draft")
    box = page.get_by_label("Merged text", exact=True)
    expect(box).to_have_value(f"{READING}:\n\n{READING_TEXT}\n\n{SLOUGH}:\n\n{SLOUGH_TEXT}")
    expect(page.locator(".govuk-character-count__status")).to_contain_text("words remaining")

    box.fill(f"{INTRO}\n\n{box.input_value()}")
    page.click_button("Save merged text")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("You saved the merged text")

    # Safer Slough changes its text after the merge.
    write(app, world, "other_csp_manager", world.contribution_a2, SLOUGH_TEXT.replace("41", "52"))
    page.click_link("Back to the collective bid")
    expect(page.locator(".pb-bid-sections")).to_contain_text("Needs review")
    expect(page.locator(".pb-bid-sections")).to_contain_text(f"Changed since the merge: {SLOUGH}")
    page.click_link(SECTION)
    changed = page.locator(".pb-merge-source--changed")
    expect(changed).to_contain_text(SLOUGH)
    expect(changed).to_contain_text("Changed since the merge")
    expect(changed.locator(".pb-diff del.pb-diff__del")).to_contain_text("41")
    expect(changed.locator(".pb-diff ins.pb-diff__ins")).to_contain_text("52")

    with page.next_page():
        page.get_by_role("button", name=re.compile(r"^Re-merge")).click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("new text has replaced")
    value = page.get_by_label("Merged text", exact=True).input_value()
    assert value.startswith(INTRO) and "52 school exclusions" in value and "41 school" not in value
    expect(page.locator(".pb-merge-source--changed")).to_have_count(0)
    page.click_link("See the history of the merged text")
    expect(page.locator("main")).to_contain_text("Re-merged Safer Slough Partnership (revision 2)")
