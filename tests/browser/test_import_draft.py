"""A CSP's Word draft in a real browser, 320 CSS pixels wide: the CSP manager downloads the Word
template from the task list, writes in it (python-docx, as Word would save it), uploads it, reads
the preview, unticks one section, imports the rest and reads the imported text on the section page.

Every page visited is checked with axe-core by the harness (tests/browser/conftest.py), and here
also for sideways scrolling at 320px.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import CheckedPage, expect, sign_in
from tests.fixtures import word_drafts

pytestmark = pytest.mark.browser

NARROW = {"width": 320, "height": 720}
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def no_sideways_scrolling(page: CheckedPage) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width[0] <= width[1], f"{page.url} scrolls sideways at 320px: {width}"


def test_a_csp_manager_downloads_the_template_and_imports_a_draft(page, world):
    page.set_viewport_size(NARROW)
    sign_in(page, world.emails["csp_manager"])
    page.goto(f"/contributions/{world.contribution_a1}")
    no_sideways_scrolling(page)

    with page.expect_download() as download:
        page.get_by_role("link", name="Download a Word template").click()
    assert download.value.suggested_filename.endswith(".docx")
    template = download.value.path().read_bytes()

    draft = word_drafts.fill_template(template, {
        "2. ": ["Knife crime in Reading rose by 21% in 2017/18.",
                ("bullets", ["46 young people carrying knives", "3 county lines"])],
        "3. ": ["Detached youth work four evenings a week."],
        "4. ": ["Young people aged 10 to 17, referred by schools."],
    })

    page.click_link("Import from Word")
    expect(page.get_by_role("heading", level=1)).to_have_text("Import your draft from Word")
    no_sideways_scrolling(page)
    page.click_button("Upload and preview")  # nothing chosen
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select a Word document (.docx)")

    page.get_by_label("Upload your Word document").set_input_files(
        files=[{"name": "Reading draft.docx", "mimeType": DOCX_TYPE, "buffer": draft}]
    )
    page.click_button("Upload and preview")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check what will be imported")
    no_sideways_scrolling(page)
    main = page.locator("main")
    expect(main).to_contain_text("No text found for these sections: 5. Evidence base")
    card = page.locator(".govuk-summary-card", has_text="2. Local need and evidence")
    expect(card.locator("li")).to_have_text(["46 young people carrying knives", "3 county lines"])
    expect(page.get_by_label("2. Local need and evidence")).to_be_checked()

    page.get_by_label("3. Proposed interventions and delivery model").uncheck()
    page.click_button("Import the selected sections")
    expect(page).to_have_url(re.compile(rf"/contributions/{world.contribution_a1}$"))
    banner = page.locator(".govuk-notification-banner--success")
    expect(banner).to_contain_text("You imported 2 sections from Reading draft.docx")
    expect(banner).to_contain_text("2. Local need and evidence")
    expect(banner).not_to_contain_text("Proposed interventions")

    page.click_link("2. Local need and evidence")
    expect(page.locator("textarea")).to_have_value(
        "Knife crime in Reading rose by 21% in 2017/18.\n\n- 46 young people carrying knives\n- 3 county lines"
    )
    page.goto(f"/contributions/{world.contribution_a1}")
    item = page.locator(".govuk-task-list__item", has_text="Proposed interventions and delivery model")
    expect(item.locator(".govuk-task-list__status")).to_contain_text("Not yet started")


def test_a_section_saved_during_the_preview_shows_both_texts_and_imports_nothing(page, world, app):
    from app.extensions import db
    from app.models import Contribution, SectionTemplate, User
    from app.services.sections import save_section

    page.set_viewport_size(NARROW)
    sign_in(page, world.emails["csp_manager"])
    page.goto(f"/contributions/{world.contribution_a1}/import")
    page.get_by_label("Upload your Word document").set_input_files(
        files=[{"name": "Reading draft.docx", "mimeType": DOCX_TYPE, "buffer": word_drafts.realistic_draft()}]
    )
    page.click_button("Upload and preview")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check what will be imported")

    with app.app_context():  # a colleague saves section 2 meanwhile
        save_section(db.session.get(User, world.users["csp_contributor"]),
                     db.session.get(Contribution, world.contribution_a1),
                     db.session.get(SectionTemplate, world.section_a), "The colleague's newer text.", 0,
                     completed=False)
        db.session.commit()

    page.click_button("Import the selected sections")
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Nothing has been imported.")
    no_sideways_scrolling(page)
    card = page.locator(".govuk-summary-card", has_text="2. Local need and evidence")
    expect(card).to_contain_text("The colleague's newer text.")
    expect(card).to_contain_text("Knife crime in Reading rose by 21%")
    card.get_by_text("Compare the newer text with your draft").click()
    expect(card.locator(".pb-diff del")).to_contain_text("colleague's")

    page.click_button("Import again")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("You imported 6 sections")
