"""Pasting a Word list into a section with a word limit: the live count as the person pastes is
the count the server keeps after saving, and the page says what was tidied.

Every page visited is checked with axe-core by the harness (tests/browser/conftest.py)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import SectionResponse, SectionTemplate
from tests.browser.conftest import CheckedPage, expect, sign_in
from tests.test_text_tidy import WORD_PASTE, WORD_PASTE_WORDS, WORD_TIDIED

pytestmark = pytest.mark.browser

SECTION = "2. Local need and evidence"


def section_path(world) -> str:
    return f"/contributions/{world.contribution_a1}/sections/{world.section_a}"


def paste(page: CheckedPage, text: str) -> None:
    """Put the text on the clipboard and press Ctrl+V in the focused textarea, as a person does."""
    page.page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.page.evaluate("text => navigator.clipboard.writeText(text)", text)
    page.page.keyboard.press("Control+V")


def remaining(page: CheckedPage) -> int:
    status = page.locator(".govuk-character-count__status")
    expect(status).to_have_text(re.compile(r"You have \d+ words? remaining"))
    return int(re.search(r"\d+", status.inner_text()).group())


def test_a_pasted_word_list_counts_live_as_the_server_counts_it_after_saving(page, world, app):
    with app.app_context():
        limit = db.session.get(SectionTemplate, world.section_a).csp_word_limit
    assert limit is not None

    sign_in(page, world.emails["csp_manager"])
    page.goto(section_path(world))
    status = page.locator(".govuk-character-count__status")
    expect(status).to_have_text(f"You have {limit} words remaining")

    box = page.get_by_label("Your text", exact=True)
    box.click()
    paste(page, WORD_PASTE)
    expect(box).to_have_value(re.compile("^Our approach"))
    assert "\uf0b7" in box.input_value()  # pasted as Word put it: the page tidies it on saving
    # Bullets and numbers are not counted, as they are not by Word.
    expect(status).to_have_text(f"You have {limit - WORD_PASTE_WORDS} words remaining")
    live = limit - remaining(page)

    page.click_button("Save and come back later")
    banner = page.locator(".govuk-notification-banner--success")
    expect(banner).to_contain_text(f"You saved section {SECTION}")
    expect(banner).to_contain_text("We tidied your text: 3 bullet points made into a list")

    with app.app_context():
        row = db.session.scalars(select(SectionResponse)).one()
        saved_words, saved_text = row.revisions[-1].word_count, row.text
    assert saved_text == WORD_TIDIED
    assert saved_words == live == WORD_PASTE_WORDS

    # Back in the section: the tidied text, and the same count.
    page.click_link(SECTION)
    expect(box).to_have_value(WORD_TIDIED)
    expect(status).to_have_text(f"You have {limit - saved_words} words remaining")

    # Typing more counts as the server will.
    box.press("End")
    box.press("Control+End")
    page.page.keyboard.type("\n• one more point")
    expect(status).to_have_text(f"You have {limit - saved_words - 3} words remaining")
