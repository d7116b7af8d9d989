"""Narrative sections in a real browser: writing with a live word count, saving, completing,
history and diffs, the conflict page, the read-only view and text kept after a session ended.

Every page visited is checked with axe-core and screenshotted by the harness (tests/browser/conftest.py).
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete

from app.extensions import db
from app.models import SectionTemplate, UserSession
from tests.browser.conftest import CheckedPage, expect, sign_in

pytestmark = pytest.mark.browser

SECTION = "2. Local need and evidence"


def section_path(world) -> str:
    return f"/contributions/{world.contribution_a1}/sections/{world.section_a}"


def task_status(page: CheckedPage, title: str):
    item = page.locator(".govuk-task-list__item", has=page.get_by_role("link", name=title, exact=True))
    return item.locator(".govuk-task-list__status")


def text_box(page: CheckedPage):
    return page.get_by_label("Your text", exact=True)


def test_a_csp_manager_writes_completes_and_compares_a_section(page, world):
    sign_in(page, world.emails["csp_manager"])
    page.goto(f"/contributions/{world.contribution_a1}")
    expect(task_status(page, SECTION)).to_have_text(re.compile(r"Not yet started"))

    page.click_link(SECTION)
    expect(page).to_have_title(f"{SECTION} – Reading Community Safety Partnership – Partnership Bid")
    expect(page.get_by_role("heading", level=1)).to_have_text(SECTION)
    expect(page.locator("main")).to_contain_text("Describe the problem in your area")
    # GOV.UK's character count, in words, counting as you type.
    status = page.locator(".govuk-character-count__status")
    expect(status).to_have_text("You have 300 words remaining")
    text_box(page).fill(
        "Reading has seen knife crime among under-18s rise by a fifth.\n\n- 34 offences\n- 12 exclusions"
    )
    expect(status).to_have_text("You have 285 words remaining")  # the bullets are not words

    # Leaving with unsaved text asks first (the browser's own "Leave site?" dialog).
    dialogs: list[str] = []

    def stay(dialog) -> None:
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.page.once("dialog", stay)
    page.get_by_role("link", name="Back to your contribution").click()
    page.wait_for_timeout(300)
    assert dialogs == ["beforeunload"]
    assert page.url.endswith(section_path(world))

    # Saving does not ask.
    page.page.on("dialog", lambda dialog: dialogs.append(dialog.type) or dialog.accept())
    page.click_button("Save and come back later")
    assert dialogs == ["beforeunload"]
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(f"You saved section {SECTION}")
    expect(task_status(page, SECTION)).to_have_text(re.compile("In progress"))

    page.click_link(SECTION)
    expect(text_box(page)).to_have_value(re.compile(r"^Reading has seen knife crime"))
    text_box(page).fill(
        "Reading has seen knife crime among under-18s rise by 20% in 2017/18.\n\n- 34 offences\n- 12 exclusions"
    )
    page.click_button("Mark as completed")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        f"You marked section {SECTION} as completed"
    )
    expect(task_status(page, SECTION)).to_have_text("Completed")

    page.click_link(SECTION)
    page.click_link("See the history of this section")
    expect(page.get_by_role("heading", level=1)).to_have_text("History of this section")
    rows = page.locator("table.pb-revisions tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Completed")
    expect(rows.nth(1)).to_contain_text("In progress")

    page.click_button("Compare revisions")
    expect(page.get_by_role("heading", level=1)).to_have_text("Changes from revision 1 to revision 2")
    diff = page.locator(".pb-diff")
    expect(diff.locator("ins")).to_have_count(1)
    expect(diff.locator("ins")).to_contain_text("20% in 2017/18.")
    expect(diff.locator("del")).to_contain_text("a fifth.")
    # Not colour alone: struck through and underlined, and said in words to screen readers.
    assert diff.locator("del").evaluate("e => getComputedStyle(e).textDecorationLine") == "line-through"
    assert diff.locator("ins").evaluate("e => getComputedStyle(e).textDecorationLine") == "underline"
    expect(diff.locator("ins .govuk-visually-hidden").first).to_have_text("added text:")


def test_two_people_saving_at_once_get_the_conflict_page_and_keep_both_texts(new_page, world):
    manager, contributor = new_page(), new_page()
    sign_in(manager, world.emails["csp_manager"])
    sign_in(contributor, world.emails["csp_contributor"])
    manager.goto(section_path(world))
    contributor.goto(section_path(world))

    text_box(manager).fill("The manager's version: 34 knife crime offences in 2017/18.")
    manager.click_button("Save and come back later")
    text_box(contributor).fill("The contributor's version: 12 permanent exclusions.")
    contributor.click_button("Save and come back later")

    expect(contributor.get_by_role("heading", level=1)).to_have_text("This section has changed since you opened it")
    main = contributor.locator("main")
    expect(main).to_contain_text("Your text has not been saved yet.")
    expect(main.locator(".pb-section-text")).to_contain_text("The manager's version")
    expect(text_box(contributor)).to_have_value("The contributor's version: 12 permanent exclusions.")
    contributor.get_by_text("Compare the newer text with yours").click()
    expect(main.locator(".pb-diff del").first).to_contain_text("manager's")

    # They combine the two and save against the newer version.
    text_box(contributor).fill(
        "The manager's version: 34 knife crime offences in 2017/18. The contributor's: 12 permanent exclusions."
    )
    contributor.page.on("dialog", lambda dialog: dialog.accept())
    contributor.click_button("Save and come back later")
    expect(contributor.locator(".govuk-notification-banner--success")).to_contain_text("You saved section")
    contributor.goto(section_path(world) + "/history")
    expect(contributor.locator("table.pb-revisions tbody tr")).to_have_count(2)


def test_lead_bidder_staff_read_the_section(page, world, app, new_page):
    writer = new_page()
    sign_in(writer, world.emails["csp_manager"])
    writer.goto(section_path(world))
    text_box(writer).fill("Our problem profile:\n\n1. Knife crime up 20%\n2. Exclusions up\n\n<b>Not bold</b>")
    writer.click_button("Save and come back later")

    sign_in(page, world.emails["lead_staff"])
    page.goto(f"/contributions/{world.contribution_a1}")
    page.click_link(SECTION)
    expect(page).to_have_url(re.compile(r"/view$"))
    text = page.locator(".pb-section-text")
    expect(text.locator("ol li")).to_have_count(2)
    expect(text).to_contain_text("<b>Not bold</b>")
    expect(page.get_by_label("Your text", exact=True)).to_have_count(0)  # a comment box is fine
    expect(page.get_by_role("link", name="Change this section")).to_have_count(0)
    page.click_link("See the history of this section")
    page.click_link("View revision 1")
    expect(page.get_by_role("heading", level=1)).to_have_text("Revision 1 (the latest)")


def test_a_section_without_a_word_limit_counts_words_as_you_type(page, world, app):
    with app.app_context():
        db.session.get(SectionTemplate, world.section_a).csp_word_limit = None
        db.session.commit()
    sign_in(page, world.emails["csp_contributor"])
    page.goto(section_path(world))
    count = page.locator("#text-word-count")
    expect(count).to_have_text("You have written 0 words")
    text_box(page).fill("Detached youth work in three areas of Reading.")
    expect(count).to_have_text("You have written 8 words")


def test_text_sent_after_the_session_ended_comes_back_after_signing_in(page, world, app):
    sign_in(page, world.emails["csp_manager"])
    page.goto(section_path(world))
    text_box(page).fill("Written late at night, just before the deadline.")
    with app.app_context():  # the session ends while they type
        db.session.execute(delete(UserSession))
        db.session.commit()

    page.page.on("dialog", lambda dialog: dialog.accept())
    page.click_button("Save and come back later")
    expect(page).to_have_url(re.compile(r"/sign-in\?next="))
    expect(page.locator("main")).to_contain_text("Your session had ended, so the text you sent has not been saved")

    sign_in(page, world.emails["csp_manager"])
    expect(page).to_have_url(re.compile(re.escape(section_path(world)) + r"\?draft="))
    expect(page.locator("main")).to_contain_text(
        "We kept what you sent when your session had ended. Check it and save it."
    )
    expect(text_box(page)).to_have_value("Written late at night, just before the deadline.")
    page.click_button("Save and come back later")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("You saved section")
