"""Issue 4's whole journey in one real browser session: from submitted contributions to a
signed-off bid. Lead admin reviews and accepts two contributions, builds the merged text of every
section (first drafts for CSP sections, own text for lead-only ones), checks readiness, signs off
and marks the bid as submitted; the CSP then finds its contribution locked."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest

from app.dates import utc_to_london_parts
from app.extensions import db
from app.models import Attachment, Contribution, ContributionStatus, Round
from app.models.base import utcnow
from tests.browser.conftest import expect, sign_in
from tests.test_submit import complete_everything

pytestmark = pytest.mark.browser


def submitted_contributions(app, world) -> list[tuple[int, str]]:
    for cid in (world.contribution_a1, world.contribution_a2):
        complete_everything(app, cid)
    with app.app_context():
        for cid in (world.contribution_a1, world.contribution_a2):
            c = db.session.get(Contribution, cid)
            c.status, c.submitted_at = ContributionStatus.SUBMITTED, utcnow()
            db.session.add(
                Attachment(
                    contribution=c,
                    filename="problem-profile.pdf",
                    stored_name=f"journey-{cid}",
                    content_type="application/pdf",
                    size_bytes=100,
                    sha256="0" * 64,
                )
            )
        db.session.commit()
        rnd = db.session.get(Round, world.round_a)
        return [(s.number, s.title, s.csp_contributes) for s in rnd.sections]


def test_from_submitted_contributions_to_a_signed_off_bid(app, world, page, new_page):
    sections = submitted_contributions(app, world)
    sign_in(page, world.emails["lead_admin"])
    page.goto(f"/rounds/{world.round_a}")
    page.click_button("Review contributions")
    expect(page.get_by_role("main")).to_contain_text("2 of 2")

    for csp in ("Reading Community Safety Partnership", "Safer Slough Partnership"):
        page.click_link(csp)
        page.click_button("Accept contribution")
        expect(page.get_by_role("main")).to_contain_text("Accepted")
        page.goto(f"/review/rounds/{world.round_a}")

    page.goto(f"/rounds/{world.round_a}")
    page.click_button("Collective bid")
    for number, title, csp_writes in sections:
        page.click_link(f"{number}. {title}")
        if csp_writes:
            page.click_button("Build the first draft")
            expect(page.get_by_label("Merged text", exact=True)).to_have_value(
                re.compile("Reading Community Safety Partnership:")
            )
        else:
            page.get_by_label("Merged text", exact=True).fill(f"Thames Valley OPCC's text for {title.lower()}.")
            page.click_button("Save merged text")
        page.click_button("Mark this section as final")
        expect(page.locator("#section-state")).to_be_visible()
        expect(page.get_by_role("button", name="Mark as a draft to change it")).to_be_visible()
        page.goto(f"/bid/rounds/{world.round_a}")

    expect(page.get_by_role("main")).to_contain_text("Every checklist item passes")
    page.click_link("See the checklist and sign off the bid")
    page.click_button("Sign off the bid")
    page.get_by_label("Declaration").fill("I confirm the bid is accurate and the partners have agreed to it.")
    page.click_button("Sign off the bid")
    expect(page.get_by_role("main")).to_contain_text("Signed off")
    page.click_button("Mark as submitted to the funder")
    # Just now, UK time (not before the sign-off a moment ago).
    today, _ = utc_to_london_parts(utcnow())
    london_now = utcnow().astimezone(ZoneInfo("Europe/London"))
    page.get_by_label("Day").fill(str(today.day))
    page.get_by_label("Month").fill(str(today.month))
    page.get_by_label("Year").fill(str(today.year))
    page.get_by_label("Time it was submitted").fill(f"{london_now:%H:%M}")
    page.get_by_label("Funder’s reference").fill("EIYF-2018-0042")
    page.click_button("Mark as submitted")
    expect(page.get_by_role("main")).to_contain_text("EIYF-2018-0042")

    csp = new_page()
    sign_in(csp, world.emails["csp_manager"])
    csp.goto(f"/contributions/{world.contribution_a1}")
    expect(csp.get_by_role("button", name="Check your answers")).to_have_count(0)
