"""The issue's whole journey in a real browser: a CSP manager completes a realistic contribution
(12 sections, 20 budget lines, an outcome, a partner, 5 documents), checks the answers and
submits it; lead bidder staff then see it submitted and can read it."""

from __future__ import annotations

import pytest

from app.demo_content import SECTION_TEXT, local
from app.extensions import db
from app.models import Round
from tests.browser.conftest import expect, sign_in
from tests.fixtures import documents as samples

pytestmark = pytest.mark.browser

YEARS = ("2018/19", "2019/20")
CATEGORIES = ("Staff", "Commissioned services", "Training", "Equipment", "Evaluation")
DOCUMENTS = [
    ("Reading problem profile 2018.pdf", "application/pdf", samples.pdf),
    ("Letter of support.docx", "application/octet-stream", samples.docx),
    ("Budget workings.xlsx", "application/vnd.ms-excel", samples.xlsx),
    ("Pilot evaluation.odt", "application/vnd.oasis.opendocument.text", samples.odt),
    ("Youth centre.png", "image/png", samples.png),
]


@pytest.fixture
def twelve_sections(app, world):
    """Round A with every one of its 12 sections written by the CSPs."""
    with app.app_context():
        rnd = db.session.get(Round, world.round_a)
        for section in rnd.sections:
            section.csp_contributes = True
        db.session.commit()
        return [(s.number, s.title) for s in rnd.sections]


def test_a_csp_manager_completes_and_submits_a_realistic_contribution(page, new_page, world, twelve_sections):
    facts = local("Reading CSP")
    sign_in(page, world.emails["csp_manager"])
    page.get_by_role("link", name="Continue your contribution").click()
    page.check()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Reading Community Safety Partnership")

    # 12 narrative sections.
    for number, title in twelve_sections:
        page.click_link(f"{number}. {title}")
        text = SECTION_TEXT.get(title, f"Reading's part of {title.lower()}: who, what, where and when.")
        page.get_by_label("Your text", exact=True).fill(text.format(**facts))
        page.click_button("Mark as completed")
    expect(page.get_by_role("main")).to_contain_text("You have completed 12 of 16 parts")

    # 20 budget lines across both years and five categories.
    page.click_link("Budget")
    page.click_button("Add a budget line")
    for n in range(20):
        page.get_by_label(YEARS[n % 2]).check()
        page.get_by_label(CATEGORIES[n % 5], exact=True).check()
        page.get_by_label("Description").fill(f"Budget line {n + 1}: {CATEGORIES[n % 5].lower()} for {YEARS[n % 2]}")
        page.get_by_label("Amount requested").fill(f"{(n + 1) * 1000 + 0.5:,.2f}")
        page.click_button("Save and add another" if n < 19 else "Save budget line")
    total = sum((n + 1) * 100_000 + 50 for n in range(20))  # pence, counted here independently
    expect(page.get_by_role("main")).to_contain_text(f"£{total // 100:,}.{total % 100:02d}")
    page.get_by_label("Yes, I’ve completed this section").check()
    page.click_button("Continue")

    page.click_link("Outcomes")
    page.click_button("Add an outcome")
    page.get_by_label("Measure").fill("Young people engaged through detached youth work")
    page.get_by_label("Baseline").fill("0")
    page.get_by_label("Target").fill("120")
    page.get_by_label("Day").fill("31")
    page.get_by_label("Month").fill("3")
    page.get_by_label("Year").fill("2020")
    page.click_button("Save outcome")
    page.get_by_label("Yes, I’ve completed this section").check()
    page.click_button("Continue")

    page.click_link("Partners involved")
    page.click_button("Add a partner")
    page.get_by_label("Organisation").fill("Reading Youth Offending Service")
    page.get_by_label("Role").fill("Refers young people and co-delivers the mentoring")
    page.click_button("Save partner")
    page.get_by_label("Yes, I’ve completed this section").check()
    page.click_button("Continue")

    page.click_link("Supporting documents")
    for name, mime, make in DOCUMENTS:
        page.get_by_label("Upload a file").set_input_files(files=[{"name": name, "mimeType": mime, "buffer": make()}])
        page.click_button("Upload file")
    expect(page.locator("table.pb-documents tbody tr")).to_have_count(5)
    page.get_by_label("Yes, I’ve completed this section").check()
    page.click_button("Continue")

    expect(page.get_by_role("main")).to_contain_text("You have completed 16 of 16 parts")
    page.click_button("Check your answers")
    main = page.get_by_role("main")
    expect(main).to_contain_text("12. Safeguarding")
    expect(main).to_contain_text("20 budget lines")
    expect(main).to_contain_text("Youth centre.png")
    page.click_button("Accept and submit")
    expect(page.get_by_role("heading", name="Contribution submitted")).to_be_visible()

    # The lead bidder sees it submitted, and can read it but not change it.
    lead = new_page()
    sign_in(lead, world.emails["lead_staff"])
    lead.click_link("Funding rounds")
    lead.click_link("Early Intervention Youth Fund 2018")
    row = lead.get_by_role("row").filter(has_text="Reading Community Safety Partnership")
    expect(row).to_contain_text("Submitted")
    row.get_by_role("link", name="Reading Community Safety Partnership").click()
    lead.check()
    lead.click_link("Read the whole contribution on one page")
    expect(lead.get_by_role("heading", level=1)).to_have_text("Reading Community Safety Partnership's contribution")
    expect(lead.get_by_role("main")).to_contain_text(SECTION_TEXT["Safeguarding"][:40])
    expect(lead.get_by_role("button", name="Accept and submit")).to_have_count(0)
