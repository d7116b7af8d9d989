"""Exports (issue 5) in a real browser: the export page, the progress page and the download, with
JavaScript (the page follows the worker and shows the link) and without (a link to look again).

Every page is checked with axe-core and screenshotted by the harness (tests/browser/conftest.py); the
progress page is checked again once its script has shown the download link."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from docx import Document
from openpyxl import load_workbook
from pypdf import PdfReader

from tests.browser.conftest import (
    AXE_OPTIONS,
    TIMEOUT_MS,
    VIEWPORT,
    CheckedPage,
    Screenshots,
    expect,
    run_jobs,
    sign_in,
)
from tests.browser.test_signoff import accepted_round
from tests.factories import PASSWORD
from tests.test_exports import real_documents
from tests.two_factor_codes import next_code

pytestmark = pytest.mark.browser

TOTAL = "£401,900.50"  # accepted_round(): the two CSPs' lines, added up by hand


def heading(page: CheckedPage):
    return page.get_by_role("heading", level=1)


# What screen readers would announce: the text of a live region each time its content changes.
RECORD_ANNOUNCEMENTS = """
window.__announced = [];
new MutationObserver((records) => {
  const changed = new Set();
  for (const record of records) {
    const node = record.target.nodeType === Node.ELEMENT_NODE ? record.target : record.target.parentElement;
    const live = node && node.closest('[aria-live]:not([aria-live="off"]), [role="status"], [role="alert"]');
    if (live) changed.add(live);
  }
  for (const live of changed) {
    if (live.textContent.trim()) window.__announced.push(live.textContent.replace(/\\s+/g, " ").trim());
  }
}).observe(document, { subtree: true, childList: true, characterData: true });
"""


def check_now(page: CheckedPage, name: str) -> None:
    """The page as the script has changed it: a screenshot and axe-core, as for a page load."""
    page.screenshot(path=page.screenshots.next_path().with_name(f"{page.screenshots.prefix}-{name}.png"),
                    full_page=True)
    results = Axe().run(page.page, options=AXE_OPTIONS)
    assert results.violations_count == 0, results.generate_report()


def downloaded(page: CheckedPage, link) -> tuple[str, bytes]:
    with page.expect_download() as info:
        link.click()
    download = info.value
    return download.suggested_filename, Path(download.path()).read_bytes()


def test_lead_staff_exports_the_bid_as_word_with_javascript(app, world, page, live_server):
    accepted_round(app, world)
    real_documents(app)
    sign_in(page, world.emails["lead_staff"])
    page.goto(f"/bid/rounds/{world.round_a}")
    page.click_link("Export the bid")
    expect(heading(page)).to_have_text("Export the bid")
    expect(page.get_by_role("main")).to_contain_text("No exports yet.")

    page.get_by_label("Word document").check()
    page.context.add_init_script(RECORD_ANNOUNCEMENTS)
    page.click_button("Create export")
    expect(heading(page)).to_have_text("Word document of the collective bid")
    status = page.locator("#export-status")
    # The script follows the worker; the link for browsers without JavaScript is hidden.
    expect(status).to_contain_text("Your Word document is being prepared.")
    expect(page.get_by_role("link", name="Check whether it is ready")).to_be_hidden()
    assert run_jobs(app, live_server) >= 1  # a worker makes the file
    link = page.get_by_role("link", name=re.compile(r"^Download the Word document \(\d+KB\)$"))
    expect(link).to_be_visible(timeout=30_000)
    expect(status).to_contain_text("Your file is ready")
    expect(link).to_be_focused()
    # Screen readers are told once, in a few words (not the whole panel and list that appear).
    assert page.evaluate("window.__announced") == ["Your file is ready."]
    check_now(page, "ready-after-script")

    filename, data = downloaded(page, link)
    assert filename.endswith(" - collective bid - draft - " + filename[-15:-5] + ".docx")
    assert zipfile.is_zipfile(io.BytesIO(data))
    doc = Document(io.BytesIO(data))
    text = "\n".join([p.text for p in doc.paragraphs] + [c.text for t in doc.tables for r in t.rows for c in r.cells])
    assert TOTAL in text and "Reading Community Safety Partnership" in text

    # The page as it is when opened again later, and the history.
    page.goto(page.url)
    expect(page.get_by_role("main")).to_contain_text("Your file is ready")
    expect(page.get_by_role("main")).to_contain_text(filename)
    page.click_link("See every export")
    row = page.locator(".pb-export-history tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Word document")
    expect(row).to_contain_text("Ready")
    expect(row).to_contain_text("Draft")


def test_without_javascript_a_link_looks_again(app, world, browser, live_server, page, request):
    """A browser with JavaScript switched off. axe-core needs JavaScript, so these pages are checked
    in the harness's browser with the progress script replaced by an empty one (the same page a
    browser without JavaScript gets), and screenshotted here."""
    accepted_round(app, world)
    real_documents(app)
    shots = Screenshots(request.node.name + "-nojs")
    context = browser.new_context(base_url=live_server.url, locale="en-GB", viewport=VIEWPORT,
                                  java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    statuses: list[tuple[int, str]] = []
    nojs = context.new_page()
    nojs.on("response", lambda r: statuses.append((r.status, r.url)) if r.request.is_navigation_request() else None)
    try:
        nojs.goto("/sign-in")
        nojs.get_by_label("Email address").fill(world.emails["lead_admin"])
        nojs.get_by_label("Password", exact=True).fill(PASSWORD)
        nojs.get_by_role("button", name="Sign in").click()
        nojs.wait_for_url("**/sign-in/two-factor")  # a lead bidder administrator gives a code too
        nojs.get_by_label("Security code").fill(next_code(world.emails["lead_admin"]))
        nojs.get_by_role("button", name="Continue").click()
        nojs.wait_for_url(lambda url: "/sign-in" not in url)
        nojs.goto(f"/rounds/{world.round_a}/exports")
        nojs.get_by_label("Excel spreadsheet").check()
        nojs.get_by_role("button", name="Create export").click()
        expect(nojs.get_by_role("main")).to_contain_text("Your Excel spreadsheet is being prepared.")
        nojs.screenshot(path=shots.next_path(), full_page=True)
        progress_url = nojs.url
        assert run_jobs(app, live_server) >= 1  # a worker makes the file
        with nojs.expect_navigation():
            nojs.get_by_role("link", name="Check whether it is ready").click()
        expect(nojs.get_by_role("main")).to_contain_text("Your file is ready")
        assert nojs.url == progress_url
        nojs.screenshot(path=shots.next_path(), full_page=True)
        filename, data = downloaded(nojs, nojs.get_by_role("link", name=re.compile("^Download the Excel spreadsheet")))
        assert filename.endswith(".xlsx")
        workbook = load_workbook(io.BytesIO(data))
        assert len(workbook.sheetnames) >= 3  # the consolidated budget and one sheet per CSP
        assert all(status < 400 for status, _ in statuses), statuses
    finally:
        context.close()

    # The same pages, as a browser without JavaScript gets them, through axe-core.
    page.context.route("**/js/export-progress.mjs",
                       lambda route: route.fulfill(status=200, content_type="text/javascript", body=""))
    sign_in(page, world.emails["lead_admin"])
    page.goto(f"/rounds/{world.round_a}/exports")
    page.get_by_label("PDF").check()
    page.click_button("Create export")
    expect(page.get_by_role("link", name="Check whether it is ready")).to_be_visible()
    run_jobs(app, live_server)
    page.click_link("Check whether it is ready")
    expect(page.get_by_role("main")).to_contain_text("Your file is ready")


def test_a_csp_manager_exports_their_contribution_as_pdf(app, world, page, live_server):
    accepted_round(app, world)
    real_documents(app)
    sign_in(page, world.emails["csp_manager"])
    page.goto(f"/contributions/{world.contribution_a1}")
    page.click_link("Export your contribution (Word or PDF)")
    expect(heading(page)).to_have_text("Export your contribution")
    expect(page.get_by_label("Excel spreadsheet")).to_have_count(0)

    page.click_button("Create export")  # nothing chosen
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select the kind of file to export")
    page.get_by_label("PDF").check()
    page.click_button("Create export")
    expect(page.locator("#export-status")).to_contain_text("Your PDF is being prepared.")
    run_jobs(app, live_server)
    link = page.get_by_role("link", name=re.compile(r"^Download the PDF"))
    expect(link).to_be_visible(timeout=30_000)
    filename, data = downloaded(page, link)
    assert filename.endswith(".pdf") and "Reading Community Safety Partnership contribution" in filename
    assert data.startswith(b"%PDF")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "Reading Community Safety Partnership" in text
