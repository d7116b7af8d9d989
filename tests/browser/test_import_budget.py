"""Importing a budget from Excel in a real browser, at 320 CSS pixels wide: download the template,
fill it in with openpyxl, upload it (first with a mistake), check the preview, import, see the lines.

Every page is checked with axe-core by the harness (tests/browser/conftest.py); the preview pages
are also measured for sideways scrolling at 320px."""

from __future__ import annotations

import pytest

from tests.browser.conftest import CheckedPage, expect, sign_in
from tests.browser.test_every_page import _MEASURE, NARROW
from tests.fixtures import budget_sheets as sheets

pytestmark = pytest.mark.browser

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def upload(page: CheckedPage, data: bytes) -> None:
    page.get_by_label("Upload your budget sheet").set_input_files(
        files=[{"name": "Reading budget.xlsx", "mimeType": XLSX, "buffer": data}]
    )
    page.click_button("Upload and check")


def fits(page: CheckedPage) -> None:
    measured = page.evaluate(_MEASURE)
    assert measured["scrollWidth"] <= measured["clientWidth"], measured
    assert not measured["clipped"], measured


def test_download_fill_upload_and_import(page, world):
    page.set_viewport_size(NARROW)
    sign_in(page, world.emails["csp_manager"])
    page.goto(f"/contributions/{world.contribution_a1}/budget")
    page.click_link("Import budget lines from Excel")
    expect(page.get_by_role("heading", level=1)).to_have_text("Import budget lines from Excel")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the budget as an Excel template").click()
    template = download.value.path().read_bytes()
    assert download.value.suggested_filename.endswith(".xlsx")

    # A first try with a mistake: the row's problem, nothing imported.
    upload(page, sheets.fill_template(template, [
        ["2018/19", "Staff", "Detached youth worker (1 FTE)", 32500, None, None, None],
        ["2020/21", "Training", "Trauma-informed practice", 1250.5, None, None, None],
    ]))  # fmt: skip
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Row 3: select a financial year from the list")
    expect(page.locator("main")).to_contain_text("Nothing has been imported")
    fits(page)
    summary.get_by_role("link", name="Row 3: select a financial year from the list", exact=False).click()

    # The corrected file: the preview, then the import.
    upload(page, sheets.fill_template(template, [
        ["2018/19", "Staff", "Detached youth worker (1 FTE)", 32500, None, None, None],
        ["2019/20", "Training", "Trauma-informed practice", 1250.5, 500, "In-kind", "Reading Borough Council"],
    ]))  # fmt: skip
    expect(page.get_by_role("heading", level=1)).to_have_text("Check the budget lines from your file")
    expect(page.locator("#import-totals")).to_contain_text("£33,750.50")
    expect(page.locator("#import-lines")).to_contain_text("Trauma-informed practice")
    fits(page)
    page.click_button("Import 2 budget lines")

    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("2 budget lines added")
    expect(page.locator("main")).to_contain_text("Detached youth worker (1 FTE)")
    expect(page.locator("main")).to_contain_text("£500.00 In-kind: Reading Borough Council")
