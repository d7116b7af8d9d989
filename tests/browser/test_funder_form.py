"""The funder's application form in a real browser, at 320 CSS pixels wide: a lead bidder
administrator uploads it from the round's page (a refused file first), sees where each section will
go, exports the collective bid into it and reads what could not be placed on the export's page.

Every page is checked with axe-core by the harness (tests/browser/conftest.py); the export's page is
checked again once its script has swapped the report in."""

from __future__ import annotations

import io
import re

import pytest
from docx import Document

from tests.browser.conftest import CheckedPage, expect, run_jobs, sign_in
from tests.browser.test_exports import check_now, downloaded
from tests.browser.test_signoff import accepted_round
from tests.fixtures import documents as samples
from tests.fixtures import funder_forms_fill as forms
from tests.test_exports import real_documents

pytestmark = pytest.mark.browser

NARROW = {"width": 320, "height": 720}
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def heading(page: CheckedPage):
    return page.get_by_role("heading", level=1)


def no_sideways_scrolling(page: CheckedPage) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 320, f"{page.url} scrolls sideways at 320px ({width}px wide)"


def test_a_lead_admin_uploads_the_form_and_exports_the_bid_into_it_at_320_pixels(app, world, page, live_server):
    accepted_round(app, world)
    real_documents(app)
    page.set_viewport_size(NARROW)
    sign_in(page, world.emails["lead_admin"])
    page.goto(f"/rounds/{world.round_a}")
    page.click_link("The funder’s application form")
    expect(heading(page)).to_have_text("The funder’s application form")
    expect(page.get_by_role("main")).to_contain_text("No form has been uploaded for this round yet.")
    no_sideways_scrolling(page)

    # Nothing chosen, then an old .doc: each refused, saying why.
    page.click_button("Upload the form")
    expect(page).to_have_title(re.compile(r"^Error: The funder’s application form"))
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select a Word document (.docx)")
    page.get_by_label("Upload the funder’s form").set_input_files(
        files=[{"name": "EIYF form.doc", "mimeType": "application/msword", "buffer": samples.legacy_doc()}])
    page.click_button("Upload the form")
    expect(page.locator("#file-error")).to_contain_text("The selected file is an old Word document (.doc)")

    page.get_by_label("Upload the funder’s form").set_input_files(
        files=[{"name": "EIYF application form.docx", "mimeType": DOCX, "buffer": forms.headings_form()}])
    page.click_button("Upload the form")
    main = page.get_by_role("main")
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "The funder’s form EIYF application form.docx has been uploaded")
    expect(main).to_contain_text("4 sections have no matching heading in the form")
    expect(page.get_by_role("row", name=re.compile(r"^4\. Target cohort.*identification & referral"))).to_be_visible()
    no_sideways_scrolling(page)

    # Export the bid into it, from the exports page the form's page links to.
    page.click_link("export the collective bid")
    page.get_by_label("The funder’s form (Word)").check()
    page.click_button("Create export")
    expect(heading(page)).to_have_text("The funder’s form (Word) of the collective bid")
    run_jobs(app, live_server)
    link = page.get_by_role("link", name=re.compile(r"^Download the filled-in funder’s form \(\d+KB\)$"))
    expect(link).to_be_visible(timeout=30_000)
    status = page.locator("#export-status")
    expect(status).to_contain_text("8 sections were put in the funder’s form (EIYF application form.docx)")
    expect(status).to_contain_text("4 sections could not be placed in the funder’s form")
    expect(status.locator('[data-report="unplaced"] li')).to_have_text([
        "9. Sustainability and exit strategy", "10. Risks and mitigations",
        "11. Delivery timetable and milestones", "12. Safeguarding"])
    expect(status).to_contain_text("Copy them in by hand from the Word export.")
    expect(status.locator('[data-report="unused"] li')).to_have_text(["Applicant details", "Declaration"])
    check_now(page, "report-after-script")
    no_sideways_scrolling(page)

    filename, data = downloaded(page, link)
    assert filename.endswith(".docx") and "funder's form" in filename
    paragraphs = [p.text for p in Document(io.BytesIO(data)).paragraphs]
    i = paragraphs.index("2. Local need and evidence")
    assert paragraphs[i + 1: i + 3] == ["Describe the problem in your area, with data.",
                                         "Our merged text for Local need and evidence."]

    # The same page opened again later: the report is on it without the script.
    page.goto(page.url)
    expect(page.get_by_role("main")).to_contain_text("4 sections could not be placed in the funder’s form")
    no_sideways_scrolling(page)

    # The removal asks first; cancelling leaves the form where it was.
    page.goto(f"/rounds/{world.round_a}/funder-form")
    page.click_link("Remove the funder’s form")
    expect(heading(page)).to_have_text(
        "Are you sure you want to remove the funder’s form EIYF application form.docx?")
    no_sideways_scrolling(page)
    page.click_link("Cancel")
    expect(page.get_by_role("main")).to_contain_text("EIYF application form.docx")
