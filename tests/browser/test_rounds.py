"""A lead bidder administrator sets up and opens a round in a real browser; the CSP manager is
emailed and lands on their task list."""

from __future__ import annotations

from datetime import timedelta

from app.models.base import utcnow
from tests.browser.conftest import deliver_outbox, expect, link_in, sign_in


def fill_date(page, legend: str, value) -> None:
    group = page.get_by_role("group", name=legend)
    group.get_by_label("Day").fill(str(value.day))
    group.get_by_label("Month").fill(str(value.month))
    group.get_by_label("Year").fill(str(value.year))


def test_lead_admin_sets_up_and_opens_a_round(page, new_page, world, app, smtp_server, live_server):
    sign_in(page, world.emails["lead_admin"])
    page.click_link("Funding rounds")
    page.click_button("Create a funding round")

    page.get_by_label("Fund", exact=True).fill("Early Intervention Youth Fund")
    page.get_by_label("Funder", exact=True).fill("Home Office")
    page.get_by_label("Round title").fill("EIYF second wave")
    later = utcnow() + timedelta(days=40)
    fill_date(page, "Funder's deadline", later)
    page.get_by_label("Time of the funder's deadline").fill("12pm")
    # A mistake first: the internal deadline after the funder's.
    fill_date(page, "Internal deadline for CSP contributions", later + timedelta(days=1))
    page.get_by_label("Time of the internal deadline").fill("noon")
    page.click_button("Save and continue")
    expect(page.locator(".govuk-error-summary")).to_contain_text("The internal deadline must be before the funder")
    expect(page.get_by_label("Round title")).to_have_value("EIYF second wave")

    fill_date(page, "Internal deadline for CSP contributions", later - timedelta(days=14))
    page.click_button("Save and continue")
    expect(page.locator(".govuk-notification-banner")).to_contain_text("EIYF second wave has been created")
    expect(page.get_by_role("heading", name="Template: 12 sections")).to_be_visible()

    # Change a section's word limit.
    page.get_by_role("link", name="Change Local need and evidence").click()
    page.check()
    page.get_by_label("Word limit for each CSP (optional)").fill("350")
    page.click_button("Save section")
    expect(page.get_by_role("row").filter(has_text="2. Local need and evidence")).to_contain_text("350")

    # Choose the CSPs taking part: Reading's only manager is chosen for them.
    page.click_button("Choose CSPs taking part")
    page.get_by_role("checkbox", name="Reading Community Safety Partnership").check()
    page.get_by_role("checkbox", name="Safer Slough Partnership").check()
    page.click_button("Save CSPs taking part")
    expect(page.locator(".govuk-notification-banner")).to_contain_text("2 CSPs are taking part")

    page.click_button("Open the round")
    expect(page.get_by_role("main")).to_contain_text("Person")
    page.click_button("Open the round and email the CSP managers")
    expect(page.locator(".govuk-notification-banner")).to_contain_text("is open")

    deliver_outbox(app)
    [email] = [m for m in smtp_server.to(world.emails["csp_manager"]) if "EIYF second wave" in m.subject]
    assert "(up to 350 words)" in email.text
    manager = new_page()
    sign_in(manager, world.emails["csp_manager"])
    manager.goto(link_in(email, live_server))
    expect(manager.get_by_role("heading", level=1)).to_contain_text("Reading Community Safety Partnership")
    expect(manager.get_by_role("link", name="2. Local need and evidence", exact=True)).to_be_visible()
    expect(manager.get_by_role("main")).to_contain_text("Not yet started")


def test_lead_admin_closes_reopens_and_records_the_outcome(page, world, app):
    """The round's later life in a browser (axe checks every page): close for contributions,
    reopen with a reason, and, once the bid has gone to the funder, record the funder's decision."""
    from datetime import UTC, datetime

    from app.extensions import db
    from app.models import CollectiveBid, Round, RoundStatus

    sign_in(page, world.emails["lead_admin"])
    page.goto(f"/rounds/{world.round_a}")
    page.click_link("Close the round for contributions")
    expect(page.get_by_role("heading", name="Close the round for contributions")).to_be_visible()
    page.click_button("Close the round for contributions")
    expect(page.locator(".govuk-notification-banner")).to_contain_text("is closed for contributions")
    expect(page.get_by_role("main")).to_contain_text("Contributions closed")

    page.click_link("Reopen the round for contributions")
    page.click_button("Reopen contributions")
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter why contributions are being reopened")
    page.get_by_label("Why are you reopening contributions?").fill("Reading asked for two more days")
    page.click_button("Reopen contributions")
    expect(page.locator(".govuk-notification-banner")).to_contain_text("is open for contributions again")

    with app.app_context():  # the bid went to the funder on 28 September 2018
        db.session.get(Round, world.round_a).status = RoundStatus.SUBMITTED
        db.session.execute(CollectiveBid.__table__.update().where(CollectiveBid.round_id == world.round_a).values(
            signed_off_at=datetime(2018, 9, 27, 9, tzinfo=UTC), submitted_at=datetime(2018, 9, 28, 10, 24, tzinfo=UTC)))
        db.session.commit()
    page.goto(f"/rounds/{world.round_a}")
    page.click_link("Record the funder’s decision")
    page.get_by_label("Awarded funding").check()
    page.click_button("Record the outcome")
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the amount awarded")
    page.get_by_label("Amount awarded").fill("822,000")
    fill_date(page, "Date the funder told you", datetime(2018, 11, 12))
    page.click_button("Record the outcome")
    expect(page.locator(".govuk-notification-banner")).to_contain_text("has been recorded")
    expect(page.get_by_role("main")).to_contain_text("awarded £822,000.00")
