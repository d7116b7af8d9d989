"""What's new in a real browser: a member of the lead bidder's staff comments on a contribution;
the CSP manager sees the count in the menu, finds the comment on What's new marked "New", opens
it (landing on the comment) and then marks the rest as read.

Every page is checked with axe-core and screenshotted by the harness (tests/browser/conftest.py)."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import expect, sign_in, sign_out

pytestmark = pytest.mark.browser


def test_a_comment_arrives_on_whats_new_and_opens(app, world, page):
    sign_in(page, world.emails["lead_staff"])
    page.goto(f"/review/contributions/{world.contribution_a1}/comments")
    page.get_by_label("Comment", exact=True).fill("Please add the 2017 knife crime figures.")
    page.click_button("Add comment for the CSP")
    sign_out(page)

    sign_in(page, world.emails["csp_manager"])

    def menu():
        return page.get_by_role("navigation", name="Menu")

    # The round's opening and the comment; a screen reader hears "2 unread" (the browser puts a
    # space before the bracket, after the visually hidden words).
    expect(menu().get_by_role("link", name=re.compile(r"^What’s new \(2 unread\s*\)$"))).to_be_visible()
    page.goto("/whats-new")
    expect(page.get_by_role("heading", level=1)).to_have_text("What’s new")
    newest = page.locator(".pb-notification").first
    expect(newest).to_contain_text("New")
    expect(newest).to_contain_text("Please add the 2017 knife crime figures.")
    with page.next_page():
        newest.get_by_role("button", name=re.compile(r"^Open\s*: Comment, ")).click()
    expect(page.get_by_role("main")).to_contain_text("Please add the 2017 knife crime figures.")
    assert "/comments" in page.url and "#comment-" in page.url
    expect(menu().get_by_role("link", name=re.compile(r"^What’s new \(1 unread\s*\)$"))).to_be_visible()

    page.goto("/whats-new")
    page.click_button("Mark all as read")
    expect(page.get_by_role("main")).to_contain_text("All your notifications are marked as read")
    expect(page.locator(".pb-notification--unread")).to_have_count(0)
    expect(menu().get_by_role("link", name="What’s new", exact=True)).to_be_visible()
