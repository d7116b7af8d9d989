"""Supporting documents in a real browser: a CSP manager uploads five documents, sees a refused file
say why, downloads one, deletes one through the confirmation page and marks the section completed;
lead bidder staff see the list without the forms.

Every page visited is checked with axe-core and screenshotted by the harness (tests/browser/conftest.py).
"""

from __future__ import annotations

import re

import pytest

from app.services.documents import human_size
from tests.browser.conftest import CheckedPage, expect, sign_in, sign_out
from tests.fixtures import documents as samples

pytestmark = pytest.mark.browser

FIVE = [
    ("Reading problem profile 2018.pdf", "application/pdf", samples.pdf, "Problem profile, July 2018", "PDF"),
    ("Letter of support.docx", "application/octet-stream", samples.docx, "From Reading Borough Council", "DOCX"),
    ("Budget workings.xlsx", "application/vnd.ms-excel", samples.xlsx, "", "XLSX"),
    ("Pilot evaluation.odt", "application/vnd.oasis.opendocument.text", samples.odt, "", "ODT"),
    ("Youth centre.jpg", "image/jpeg", samples.jpeg, "Photo of the Whitley youth centre", "JPEG"),
]


def heading(page: CheckedPage):
    return page.get_by_role("heading", level=1)


def choose_file(page: CheckedPage, name: str, mime: str, data: bytes) -> None:
    page.get_by_label("Upload a file").set_input_files(files=[{"name": name, "mimeType": mime, "buffer": data}])


def document_rows(page: CheckedPage):
    return page.locator("table.pb-documents tbody tr")


def test_a_csp_manager_uploads_five_documents_deletes_one_and_completes_the_section(page, world):
    sign_in(page, world.emails["csp_manager"])
    page.goto(f"/contributions/{world.contribution_a1}")
    page.click_link("Supporting documents")

    expect(heading(page)).to_have_text("Supporting documents")
    expect(page.locator("main")).to_contain_text("No documents have been uploaded.")

    # Nothing chosen, then a program dressed up as a PDF: each refused, saying why.
    page.click_button("Upload file")
    expect(page).to_have_title(re.compile(r"^Error: Supporting documents"))
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select a file")

    choose_file(page, "Problem profile.pdf", "application/pdf", samples.exe())
    page.get_by_label("Description (optional)").fill("This one is not what it says")
    page.click_button("Upload file")
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("The selected file must be a PDF, DOCX, XLSX, ODT, PNG or JPEG")
    expect(page.locator("#file-error")).to_contain_text("The selected file must be a PDF, DOCX, XLSX, ODT, PNG or JPEG")
    expect(page.get_by_label("Description (optional)")).to_have_value("This one is not what it says")
    expect(summary).to_be_focused()
    summary.get_by_role("link").click()
    expect(page.get_by_label("Upload a file")).to_be_focused()

    # Five real documents, one at a time (the browser's own MIME types are ignored).
    for n, (name, mime, build, description, _) in enumerate(FIVE, start=1):
        choose_file(page, name, mime, build())
        page.get_by_label("Description (optional)").fill(description)
        page.click_button("Upload file")
        expect(page.locator(".govuk-notification-banner--success")).to_contain_text(f"{name} has been uploaded")
        expect(document_rows(page)).to_have_count(n)

    expect(page.locator("table.pb-documents caption")).to_have_text("5 documents")
    for (name, _, build, description, label), row in zip(FIVE, document_rows(page).all(), strict=True):
        expect(row).to_contain_text(name)
        expect(row).to_contain_text(f"{label}, {human_size(len(build()))}")
        if description:
            expect(row).to_contain_text(description)

    # A download comes back as an attachment with its name.
    with page.expect_download() as download:
        page.get_by_role("link", name="Letter of support.docx", exact=True).click()
    assert download.value.suggested_filename == "Letter of support.docx"
    assert download.value.path().read_bytes() == samples.docx()

    # Delete one, through the confirmation page.
    page.click_link("Delete Youth centre.jpg")
    expect(heading(page)).to_have_text("Are you sure you want to delete Youth centre.jpg?")
    expect(page.locator("main")).to_contain_text("Photo of the Whitley youth centre")
    page.click_button("Delete document")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Youth centre.jpg has been deleted")
    expect(document_rows(page)).to_have_count(4)
    expect(page.locator("main")).not_to_contain_text("Youth centre.jpg has been uploaded")
    expect(page.locator("table.pb-documents")).not_to_contain_text("Youth centre.jpg")

    # Mark the section completed: back to the task list, where it says so.
    page.get_by_label("Yes, I’ve completed this section").check()
    page.click_button("Continue")
    expect(page).to_have_url(re.compile(rf"/contributions/{world.contribution_a1}$"))
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "Supporting documents marked as completed"
    )
    item = page.locator(".govuk-task-list__item", has_text="Supporting documents")
    expect(item.locator(".govuk-task-list__status")).to_have_text("Completed")


def test_lead_bidder_staff_see_the_documents_without_the_forms(page, world, app):
    from io import BytesIO

    from werkzeug.datastructures import FileStorage

    from app.extensions import db
    from app.models import Contribution, User
    from app.services.documents import upload_document

    with app.app_context():
        contribution = db.session.get(Contribution, world.contribution_a1)
        manager = db.session.get(User, world.users["csp_manager"])
        for name, _, build, description, _ in FIVE[:2]:
            upload_document(manager, contribution, FileStorage(BytesIO(build()), filename=name), description)
        db.session.commit()

    sign_in(page, world.emails["lead_staff"])
    page.goto(f"/contributions/{world.contribution_a1}/documents")

    expect(heading(page)).to_have_text("Supporting documents")
    expect(document_rows(page)).to_have_count(2)
    expect(page.locator("main")).not_to_contain_text("Upload a document")
    expect(page.get_by_role("link", name=re.compile("^Delete"))).to_have_count(0)
    with page.expect_download() as download:
        page.get_by_role("link", name="Reading problem profile 2018.pdf", exact=True).click()
    assert download.value.suggested_filename == "Reading problem profile 2018.pdf"


def test_virus_checks_are_shown_and_files_not_cleared_are_not_downloaded(page, world, app):
    """Documents in each state of their virus check (set in the database: the browser tests' server
    has no scanner): the CSP's documents page, the page refusing a download, the lead's review page
    and the readiness checklist, each checked with axe-core at the harness's width."""
    from io import BytesIO

    from werkzeug.datastructures import FileStorage

    from app.extensions import db
    from app.models import Attachment, Contribution, ContributionStatus, ScanStatus, User
    from app.services.documents import upload_document

    states = {
        "Still waiting.pdf": (ScanStatus.PENDING, None),
        "Infected.pdf": (ScanStatus.INFECTED, "Test.EICAR.Custom.UNOFFICIAL"),
        "Very large.pdf": (ScanStatus.FAILED, "Larger than the virus scanner accepts"),
        "Clean.pdf": (ScanStatus.CLEAN, None),
    }
    ids = {}
    with app.app_context():
        contribution = db.session.get(Contribution, world.contribution_a1)
        manager = db.session.get(User, world.users["csp_manager"])
        for name, (status, result) in states.items():
            attachment = upload_document(manager, contribution, FileStorage(BytesIO(samples.pdf(name)), filename=name))
            attachment = attachment.attachment
            attachment.scan_status, attachment.scan_result = status, result
            db.session.flush()
            ids[name] = attachment.id
        db.session.commit()

    sign_in(page, world.emails["csp_manager"])
    page.goto(f"/contributions/{world.contribution_a1}/documents")
    rows = document_rows(page)
    expect(rows).to_have_count(4)
    expect(rows.nth(0)).to_contain_text("Being checked")
    expect(rows.nth(1)).to_contain_text("Virus found")
    expect(rows.nth(1)).to_contain_text(
        "This file contained a virus (Test.EICAR.Custom.UNOFFICIAL) and has been removed. Upload a clean copy."
    )
    expect(rows.nth(2)).to_contain_text("Could not be checked")
    for name in ("Still waiting.pdf", "Infected.pdf", "Very large.pdf"):
        expect(page.get_by_role("link", name=name, exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="Clean.pdf", exact=True)).to_have_count(1)

    for name, title in (("Still waiting.pdf", "Still waiting.pdf is being checked for viruses"),
                        ("Infected.pdf", "Infected.pdf contained a virus")):
        response = page.goto(f"/contributions/{world.contribution_a1}/documents/{ids[name]}/download")
        assert response.status in (409, 410)
        expect(heading(page)).to_have_text(title)
    page.click_link("Go to the supporting documents")
    expect(heading(page)).to_have_text("Supporting documents")

    with app.app_context():
        db.session.get(Contribution, world.contribution_a1).status = ContributionStatus.ACCEPTED
        db.session.commit()
        assert db.session.get(Attachment, ids["Clean.pdf"]).scan_status == ScanStatus.CLEAN
    sign_out(page)
    sign_in(page, world.emails["lead_admin"])
    page.goto(f"/review/contributions/{world.contribution_a1}")
    expect(page.locator("main")).to_contain_text("Virus found")
    expect(page.locator("main")).to_contain_text("and has been removed. A clean copy needs to be uploaded.")
    page.goto(f"/bid/rounds/{world.round_a}/readiness")
    expect(page.locator("main")).to_contain_text("Still waiting.pdf is still being checked for viruses")
    expect(page.locator("main")).to_contain_text("Infected.pdf contained a virus and has been removed")
