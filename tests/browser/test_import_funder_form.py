"""A lead bidder administrator starts a round from the funder's Word application form, on a phone-sized
screen (320 CSS pixels): upload it, check and change the sections found, leave one out, add them;
the same file becomes the round's funder's form for the export, whose page leads back to reading the
sections from it without uploading it again.

Every page visited is checked with axe-core by the harness (tests/browser/conftest.py).
"""

from __future__ import annotations

from datetime import timedelta

from app.models.base import utcnow
from tests.browser.conftest import expect, sign_in
from tests.browser.test_rounds import fill_date
from tests.fixtures import funder_forms

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
NARROW = {"width": 320, "height": 720}
FOR_EXPORT = "Also use this form for the export into the funder’s form"


def scrolls_sideways(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth > document.documentElement.clientWidth")


def test_a_round_started_from_the_funders_form(page, world, app, live_server):
    page.set_viewport_size(NARROW)
    sign_in(page, world.emails["lead_admin"])
    page.goto("/rounds/new")
    page.get_by_label("Fund", exact=True).fill("Early Intervention Youth Fund")
    page.get_by_label("Funder", exact=True).fill("Home Office")
    page.get_by_label("Round title").fill("EIYF from the Home Office form")
    later = utcnow() + timedelta(days=40)
    fill_date(page, "Funder's deadline", later)
    page.get_by_label("Time of the funder's deadline").fill("12pm")
    fill_date(page, "Internal deadline for CSP contributions", later - timedelta(days=14))
    page.get_by_label("Time of the internal deadline").fill("noon")
    page.get_by_label("The funder's application form (.docx), uploaded next").check()
    page.click_button("Save and continue")
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Now upload the funder's application form")
    expect(page.get_by_role("heading", level=1)).to_have_text("Add sections from the funder's form")

    page.get_by_label("Upload the funder's application form").set_input_files(
        files=[{"name": "EIYF application form.docx", "mimeType": DOCX, "buffer": funder_forms.numbered_form()}]
    )
    page.click_button("Upload and check the sections")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check the sections from the funder's form")
    expect(page.get_by_role("main")).to_contain_text("We found 10 sections in EIYF application form.docx")
    assert not scrolls_sideways(page)
    expect(page.get_by_label("Title of section 2")).to_have_value("Summary of the proposal")
    expect(page.get_by_label("Word limit for the collective bid (optional) for section 2")).to_have_value("250")
    expect(page.get_by_role("checkbox", name="Add this section (section 1)")).not_to_be_checked()  # Guidance notes
    expect(page.get_by_role("checkbox", name="Add this section (section 8)")).to_be_checked()  # Budget
    expect(page.get_by_role("checkbox", name=FOR_EXPORT)).to_be_checked()

    # A mistake first: a ticked section with no title. What was typed elsewhere is kept.
    page.get_by_label("Title of section 2").fill("Summary")
    page.get_by_label("Title of section 3").fill("")
    page.get_by_role("checkbox", name="Add this section (section 8)").uncheck()
    page.click_button("Add these sections")
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter a title for section 3")
    expect(page.get_by_label("Title of section 2")).to_have_value("Summary")
    expect(page.get_by_role("checkbox", name="Add this section (section 8)")).not_to_be_checked()
    page.locator(".govuk-error-summary").get_by_role("link", name="Enter a title for section 3").click()
    expect(page.get_by_label("Title of section 3")).to_be_focused()

    page.get_by_label("Title of section 3").fill("Local need")
    page.click_button("Add these sections")
    expect(page.locator(".govuk-notification-banner")).to_contain_text("6 sections added from the funder's form")
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "The form will also be used for the export into the funder’s form")
    expect(page.get_by_role("heading", name="Template: 6 sections")).to_be_visible()
    table = page.get_by_role("table", name="Template: 6 sections")
    expect(table.get_by_role("cell", name="1. Summary", exact=True)).to_be_visible()
    expect(table.get_by_role("cell", name="2. Local need", exact=True)).to_be_visible()
    expect(table.get_by_role("cell", name="6. Outcomes, monitoring and evaluation", exact=True)).to_be_visible()
    expect(table).not_to_contain_text("Budget")
    expect(table).not_to_contain_text("Guidance notes")

    # The same file is the round's funder's form for the export: no second upload.
    page.goto(page.url.split("#")[0] + "/funder-form")
    expect(page.get_by_role("heading", level=1)).to_have_text("The funder’s application form")
    expect(page.get_by_role("link", name="EIYF application form.docx (download)")).to_be_visible()
    assert not scrolls_sideways(page)
    page.click_link("Add the round’s sections from this form")
    expect(page.get_by_role("heading", level=1)).to_have_text("Add sections from the funder's form")
    page.click_button("Use the funder’s form already uploaded: EIYF application form.docx")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check the sections from the funder's form")
    expect(page.get_by_role("main")).to_contain_text(
        "This is the round’s funder’s form for the export (EIYF application form.docx).")
    expect(page.get_by_role("checkbox", name=FOR_EXPORT)).to_have_count(0)
    expect(page.get_by_role("radio", name="Keep them, and add these after them")).to_be_checked()
    assert not scrolls_sideways(page)
