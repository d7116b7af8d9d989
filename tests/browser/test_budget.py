"""The budget, outcomes and partners of a contribution in a real browser.

Every page visited is checked with axe-core and screenshotted by the harness (tests/browser/conftest.py)."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models import BudgetLine, Contribution, MatchType, Outcome, PartnerInvolvement
from tests.browser.conftest import CheckedPage, expect, sign_in

pytestmark = pytest.mark.browser


def heading(page: CheckedPage):
    return page.get_by_role("heading", level=1)


def table_rows(page: CheckedPage, table_id: str) -> list[list[str]]:
    return page.evaluate(
        """(id) => [...document.querySelectorAll(`#${id} tr`)].map(
             tr => [...tr.querySelectorAll('th, td')].map(c => c.innerText.replace(/\\s+/g, ' ').trim()))""",
        table_id,
    )


def task(page: CheckedPage, name: str):
    """A part of the task list, by its link."""
    return page.locator(".govuk-task-list__item").filter(has=page.get_by_role("link", name=name, exact=True))


def open_task(page: CheckedPage, world, name: str) -> None:
    page.goto(f"/contributions/{world.contribution_a1}")
    page.click_link(name)


def test_a_csp_manager_builds_the_budget_outcomes_and_partners(page, world):
    sign_in(page, world.emails["csp_manager"])
    open_task(page, world, "Budget")
    expect(heading(page)).to_have_text("Budget")
    expect(page.locator("main")).to_contain_text("You have not added any budget lines yet.")
    expect(page.locator("main")).to_contain_text("The round’s cap is £700,000.00 for the whole bid")

    # A first line, with an amount that is not a number.
    page.click_button("Add a budget line")
    expect(page).to_have_title("Add a budget line – Reading Community Safety Partnership – Partnership Bid")
    page.get_by_label("2018/19").check()
    page.get_by_label("Staff", exact=True).check()
    page.get_by_label("Description").fill("Detached youth worker (1 FTE)")
    page.get_by_label("Amount requested").fill("32,500.005")
    page.click_button("Save budget line")

    expect(page).to_have_title(re.compile(r"^Error: Add a budget line"))
    summary = page.locator(".govuk-error-summary")
    message = "Amount requested must not have more than 2 decimal places, like 1,250.50"
    expect(summary).to_contain_text(message)
    expect(page.locator("#amount-error")).to_contain_text(message)
    expect(page.get_by_label("Amount requested")).to_have_value("32,500.005")
    expect(page.get_by_label("Description")).to_have_value("Detached youth worker (1 FTE)")
    expect(page.get_by_label("2018/19")).to_be_checked()
    summary.get_by_role("link", name=message).click()
    expect(page.get_by_label("Amount requested")).to_be_focused()

    page.get_by_label("Amount requested").fill("£32,500")
    page.click_button("Save and add another")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "Budget line added: Detached youth worker (1 FTE)"
    )
    expect(page.get_by_label("2018/19")).to_be_checked()  # the year is kept for the next line

    # A second line, with match funding but no type: then the type.
    page.get_by_label("Commissioned services").check()
    page.get_by_label("Description").fill("Specialist mentoring for young people involved in violence")
    page.get_by_label("Amount requested").fill("18000")
    page.get_by_label("Amount of match funding (optional)").fill("4,000.50")
    page.get_by_label("Source of match funding (optional)").fill("Reading Borough Council")
    page.click_button("Save budget line")
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select whether the match funding is cash or in-kind")
    page.get_by_label("Cash", exact=True).check()
    page.click_button("Save budget line")

    # A third, in the second year.
    page.click_button("Add another budget line")
    page.get_by_label("2019/20").check()
    page.get_by_label("Staff", exact=True).check()
    page.get_by_label("Description").fill("Detached youth worker (1 FTE)")
    page.get_by_label("Amount requested").fill("33,150.75")
    page.click_button("Save budget line")

    expect(page).to_have_title("Budget – Reading Community Safety Partnership – Partnership Bid")
    totals = table_rows(page, "budget-totals")
    assert totals[0] == ["Cost category", "2018/19", "2019/20", "Total"]
    assert totals[1] == ["Staff", "£32,500.00", "£33,150.75", "£65,650.75"]
    assert totals[2] == ["Commissioned services", "£18,000.00", "£0.00", "£18,000.00"]
    assert totals[-1] == ["Total", "£50,500.00", "£33,150.75", "£83,650.75"]
    match = table_rows(page, "match-totals")
    assert match[1] == ["Cash", "£4,000.50", "£0.00", "£4,000.50"]
    assert match[-1] == ["Total match funding", "£4,000.50", "£0.00", "£4,000.50"]
    # Figures are right-aligned.
    align = page.locator("#budget-totals td").first.evaluate("td => getComputedStyle(td).textAlign")
    assert align == "right"

    # Mark the budget as completed.
    page.get_by_label("Yes, I’ve completed this section").check()
    page.click_button("Continue")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Budget marked as completed")
    expect(task(page, "Budget")).to_contain_text("Completed")

    # An outcome, with a date missing its month first.
    page.click_link("Outcomes")
    page.click_button("Add an outcome")
    page.get_by_label("Measure").fill("Permanent exclusions of young people aged 11 to 16")
    page.get_by_label("Baseline").fill("42 in 2017/18")
    page.get_by_label("Target").fill("30 a year")
    page.get_by_label("Day").fill("31")
    page.get_by_label("Year").fill("2020")
    page.click_button("Save outcome")
    expect(page.locator(".govuk-error-summary")).to_contain_text("By when must include a month")
    page.locator(".govuk-error-summary").get_by_role("link", name="By when must include a month").click()
    expect(page.get_by_label("Month")).to_be_focused()
    page.get_by_label("Month").fill("3")
    page.click_button("Save outcome")
    assert table_rows(page, "outcomes")[1][:4] == [
        "Permanent exclusions of young people aged 11 to 16", "42 in 2017/18", "30 a year", "31 March 2020"
    ]  # fmt: skip
    page.get_by_label("Yes, I’ve completed this section").check()
    page.click_button("Continue")

    # A partner.
    page.click_link("Partners involved")
    page.click_button("Add a partner")
    page.get_by_label("Organisation name").fill("Reading Youth Offending Service")
    page.get_by_label("Their role").fill("Refers young people at risk and co-delivers the mentoring.")
    page.click_button("Save partner")
    expect(page.locator(".govuk-summary-card")).to_contain_text("Reading Youth Offending Service")
    page.get_by_label("Yes, I’ve completed this section").check()
    page.click_button("Continue")
    for part in ("Budget", "Outcomes", "Partners involved"):
        expect(task(page, part)).to_contain_text("Completed")


def _twenty_lines(app, world) -> None:
    descriptions = [
        "Detached youth worker (1 FTE)", "Detached youth worker (1 FTE)", "Youth work team leader (0.5 FTE)",
        "Specialist mentoring for young people involved in violence", "County lines awareness sessions in schools",
        "Trauma-informed practice training for youth workers and teachers",
        "Mobile phones and laptops for outreach staff",
        "Local evaluation and data analysis", "Programme coordinator (0.2 FTE)", "Sports and arts sessions at weekends",
    ]  # fmt: skip
    with app.app_context():
        c = db.session.get(Contribution, world.contribution_a1)
        years, cats = c.round.financial_years, c.round.cost_categories
        category_of = [0, 0, 0, 1, 1, 2, 3, 4, 5, 1]
        for n in range(20):
            year = years[n // 10]
            amount = [32_500_00, 32_500_00, 21_000_00, 18_000_00, 6_750_00, 3_500_00, 1_800_00, 4_000_00, 6_200_00,
                      9_999_99][n % 10] + (n // 10) * 650_50  # fmt: skip
            match = [0, 0, 0, 4_000_00, 0, 1_500_00, 0, 0, 6_200_00, 2_500_00][n % 10]
            kind = {1_500_00: MatchType.IN_KIND, 6_200_00: MatchType.IN_KIND}.get(match, MatchType.CASH)
            db.session.add(
                BudgetLine(
                    contribution=c, financial_year=year, cost_category=cats[category_of[n % 10]],
                    description=descriptions[n % 10], amount_pence=amount, match_pence=match,
                    match_type=kind if match else None,
                    match_source={4_000_00: "Reading Borough Council", 1_500_00: "Council training team",
                                  6_200_00: "Community safety team", 2_500_00: "Sport England"}.get(match),
                )
            )  # fmt: skip
        db.session.commit()


def test_the_budget_page_works_with_twenty_lines(app, world, page, new_page):
    _twenty_lines(app, world)
    sign_in(page, world.emails["csp_manager"])
    page.goto(f"/contributions/{world.contribution_a1}/budget")
    expect(page.locator("#lines-" + str(_year_ids(app, world)[0]) + " tbody tr")).to_have_count(11)
    assert page.locator("main a", has_text=re.compile(r"^Change")).count() == 20
    # Nothing is wider than the window: no sideways scrolling at 1280px.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert table_rows(page, "budget-totals")[-1][-1] == "£279,004.98"  # 2 × £136,249.99 + 10 × £650.50

    # Change the first line, then delete the last one.
    page.locator("main a", has_text=re.compile(r"^Change")).first.click()
    page.check()
    expect(page).to_have_title("Change a budget line – Reading Community Safety Partnership – Partnership Bid")
    expect(page.get_by_label("Amount requested")).to_have_value("32,500.00")
    page.get_by_label("Amount requested").fill("33,000")
    page.click_button("Save budget line")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Budget line changed")
    page.locator("main a", has_text=re.compile(r"^Delete")).last.click()
    page.check()
    expect(heading(page)).to_have_text("Are you sure you want to delete this budget line?")
    page.click_button("Yes, delete this budget line")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Budget line deleted")
    assert page.locator("main a", has_text=re.compile(r"^Change")).count() == 19

    # On a phone the wide tables scroll inside themselves, not the page.
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"/contributions/{world.contribution_a1}/budget")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    scrolls = page.locator(".pb-table-scroll").evaluate_all("els => els.map(e => e.scrollWidth > e.clientWidth)")
    assert any(scrolls)

    # The lead bidder's staff see it read-only.
    lead = new_page()
    sign_in(lead, world.emails["lead_staff"])
    lead.goto(f"/contributions/{world.contribution_a1}/budget")
    expect(heading(lead)).to_have_text("Budget")
    expect(lead.get_by_role("button", name="Add a budget line")).to_have_count(0)
    assert lead.locator("main a", has_text=re.compile(r"^Change")).count() == 0
    expect(lead.locator("main")).not_to_contain_text("Have you completed this section?")


def _year_ids(app, world) -> list[int]:
    with app.app_context():
        return [y.id for y in db.session.get(Contribution, world.contribution_a1).round.financial_years]


def test_outcomes_and_partners_pages_with_content(app, world, page):
    from datetime import date

    with app.app_context():
        c = db.session.get(Contribution, world.contribution_a1)
        for measure, baseline, target, when in [
            ("Permanent exclusions of young people aged 11 to 16", "42 in 2017/18", "30 a year", date(2020, 3, 31)),
            ("Young people completing the mentoring programme", "0", "60", date(2020, 3, 31)),
            ("Knife crime offences by under-18s in the town centre", "Baseline to be set in January 2019",
             "25% fewer", date(2019, 12, 31)),
        ]:  # fmt: skip
            db.session.add(Outcome(contribution=c, measure=measure, baseline=baseline, target=target, by_when=when))
        for name, role in [
            ("Reading Youth Offending Service", "Refers young people at risk and co-delivers the mentoring."),
            ("Reading College", "Hosts sessions for students at risk of exclusion.\nShares attendance data."),
        ]:
            db.session.add(PartnerInvolvement(contribution=c, organisation_name=name, role=role))
        db.session.commit()
    sign_in(page, world.emails["csp_manager"])
    page.goto(f"/contributions/{world.contribution_a1}/outcomes")
    expect(page.locator("#outcomes tbody tr")).to_have_count(3)
    page.goto(f"/contributions/{world.contribution_a1}/partners")
    expect(page.locator(".govuk-summary-card")).to_have_count(2)
    page.get_by_role("link", name="Remove Reading College").click()
    page.check()
    expect(heading(page)).to_have_text("Are you sure you want to remove Reading College?")
