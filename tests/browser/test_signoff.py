"""The consolidated budget, readiness checklist, sign-off and submission in a real browser.

Every page visited is checked with axe-core and screenshotted by the harness (tests/browser/conftest.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.extensions import db
from app.models import (
    Attachment,
    BudgetLine,
    ContributionStatus,
    MatchType,
    Outcome,
    PartnerInvolvement,
    Round,
)
from app.models.bid import CollectiveBid, MergedSection, SectionState
from app.services.consolidation import get_or_create_bid
from tests.browser.conftest import CheckedPage, expect, sign_in, sign_out

pytestmark = pytest.mark.browser


def heading(page: CheckedPage):
    return page.get_by_role("heading", level=1)


def table_rows(page: CheckedPage, table_id: str) -> list[list[str]]:
    return page.evaluate(
        """(id) => [...document.querySelectorAll(`#${id} tr`)].map(
             tr => [...tr.querySelectorAll('th, td')].map(c => c.innerText.replace(/\\s+/g, ' ').trim()))""",
        table_id,
    )


def accepted_round(app, world) -> None:
    """Both contributions accepted, with budget lines, outcomes, partners and documents, and every
    section merged: set up directly in the database."""

    with app.app_context():
        rnd = db.session.get(Round, world.round_a)
        y1, y2 = rnd.financial_years
        staff, commissioned = rnd.cost_categories[0], rnd.cost_categories[1]
        plans = [
            [(y1, staff, "Detached youth workers (2 FTE)", 120_000_00, 10_000_00, MatchType.IN_KIND),
             (y2, staff, "Detached youth workers (2 FTE)", 124_000_00, 10_000_00, MatchType.IN_KIND),
             (y1, commissioned, "Knife crime mentoring", 35_500_50, 0, None)],
            [(y1, commissioned, "Schools awareness programme", 60_000_00, 5_000_00, MatchType.CASH),
             (y2, commissioned, "Schools awareness programme", 62_400_00, 5_000_00, MatchType.CASH)],
        ]
        partners = [["Thames Valley Police", "Reading Youth Offending Service"],
                    ["thames  valley police", "Slough Borough Council"]]
        for c, lines, names in zip(sorted(rnd.contributions, key=lambda c: c.id), plans, partners, strict=True):
            for year, cat, text, amount, match, kind in lines:
                db.session.add(BudgetLine(contribution=c, financial_year=year, cost_category=cat, description=text,
                                          amount_pence=amount, match_pence=match, match_type=kind))
            for name in names:
                db.session.add(PartnerInvolvement(contribution=c, organisation_name=name, role="Referrals and data"))
            db.session.add(Outcome(contribution=c, measure="Young people completing the programme", baseline="0",
                                   target="120", by_when=date(2020, 3, 31)))
            db.session.add(Attachment(contribution=c, filename="problem-profile.pdf", stored_name=f"b-{c.id}",
                                      content_type="application/pdf", size_bytes=100, sha256="0" * 64))
            c.status = ContributionStatus.ACCEPTED
            c.budget_completed = c.outcomes_completed = c.partners_completed = c.documents_completed = True
        bid = get_or_create_bid(rnd)
        for s in rnd.sections:
            db.session.add(MergedSection(bid=bid, section=s, text=f"Our merged text for {s.title}.", version=1,
                                         state=SectionState.FINAL))
        db.session.commit()


def test_a_lead_admin_signs_off_and_submits_the_bid(app, world, page, new_page):
    accepted_round(app, world)
    sign_in(page, world.emails["lead_admin"])
    page.goto(f"/bid/rounds/{world.round_a}/budget")
    expect(heading(page)).to_have_text("Consolidated budget")
    expect(page.locator("#cap-checks")).to_contain_text(
        "The bid asks for £401,900.50, which is within the £700,000.00 cap"
    )
    assert table_rows(page, "bid-totals")[-1] == ["Total", "£215,500.50", "£186,400.00", "£401,900.50"]

    # A lead-held evaluation line, first without an amount.
    page.click_button("Add a lead-held budget line")
    expect(heading(page)).to_have_text("Add a lead-held budget line")
    page.get_by_label("2019/20").check()
    page.get_by_label("Evaluation", exact=True).check()
    page.get_by_label("Description").fill("Independent evaluation of the programme")
    page.click_button("Save budget line")
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the amount requested")
    expect(page.get_by_label("Description")).to_have_value("Independent evaluation of the programme")
    page.get_by_label("Amount requested").fill("25,000")
    page.click_button("Save budget line")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "Lead-held budget line added: Independent evaluation of the programme"
    )
    expect(page.locator("#bid-total")).to_have_text("£426,900.50")
    rows = table_rows(page, "by-csp")
    assert rows[-2][0].endswith("(lead-held lines)") and rows[-2][3] == "£25,000.00"
    assert rows[-1][:4] == ["Total", "£215,500.50", "£211,400.00", "£426,900.50"]

    page.click_link("Partners")
    expect(page.locator("#partners-caption")).to_have_text("3 partners")
    expect(page.locator("#partners")).to_contain_text("Reading Community Safety Partnership, Safer Slough Partnership")

    # The checklist passes; sign off with the declaration.
    page.click_link("Readiness and sign-off")
    expect(heading(page)).to_have_text("Readiness and sign-off")
    expect(page.locator("#readiness-result")).to_contain_text("the bid is ready to be signed off")
    page.click_button("Sign off the bid")
    expect(heading(page)).to_have_text("Sign off the bid")
    page.get_by_label("Declaration").fill("")
    page.click_button("Sign off the bid")
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the declaration")
    page.get_by_label("Declaration").fill("I confirm the bid is accurate and the partners have agreed to it.")
    page.click_button("Sign off the bid")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("The bid has been signed off")
    expect(page.locator("#sign-off-details")).to_contain_text("I confirm the bid is accurate")

    # Mark it as submitted to the funder (the round's history as in 2018: signed off the day before).
    with app.app_context():
        db.session.execute(CollectiveBid.__table__.update().where(CollectiveBid.round_id == world.round_a)
                           .values(signed_off_at=datetime(2018, 9, 27, 9, 0, tzinfo=UTC)))
        db.session.commit()
    page.click_button("Mark as submitted to the funder")
    page.get_by_label("Day").fill("28")
    page.get_by_label("Month").fill("9")
    page.get_by_label("Year").fill("2018")
    page.get_by_label("Time it was submitted").fill("11:45am")
    page.get_by_label("Funder’s reference").fill("EIYF-2018-0042")
    page.click_button("Mark as submitted")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "The bid has been marked as submitted to Home Office"
    )
    expect(page.locator("#sign-off-details")).to_contain_text("EIYF-2018-0042")
    expect(page.locator("#sign-off-details")).to_contain_text("11:45am on Friday 28 September 2018")
    page.goto(f"/bid/rounds/{world.round_a}/budget")
    expect(page.locator("main")).not_to_contain_text("Add a lead-held budget line")

    # The CSP manager sees their contribution locked.
    sign_out(page)
    csp = new_page()
    sign_in(csp, world.emails["csp_manager"])
    csp.goto(f"/contributions/{world.contribution_a1}/budget")
    expect(csp.locator("main")).to_contain_text(
        "has signed off the collective bid, so contributions cannot be changed unless it is reopened"
    )
    expect(csp.locator("main")).not_to_contain_text("Add a budget line")


def test_the_checklist_says_what_is_missing(app, world, page):
    sign_in(page, world.emails["lead_staff"])
    page.goto(f"/bid/rounds/{world.round_a}/readiness")
    expect(page.locator("#readiness-result")).to_contain_text("4 of 5 items do not pass yet")
    expect(page.locator("#check-contributions")).to_contain_text("No contributions have been accepted yet")
    expect(page.locator("#check-budget")).to_contain_text("The bid has no budget lines")
    expect(page.locator("main")).to_contain_text("A lead bidder administrator signs off the bid")
    page.click_link("Budget")
    expect(page.locator("main")).to_contain_text("There are no lead-held budget lines.")
