"""The whole bid on one page: every section's merged text in template order, the consolidated
budget, outcomes and partners, for lead bidder users to read and print."""

from __future__ import annotations

import html
import re
from datetime import date
from pathlib import Path

from app.extensions import db
from app.models import Outcome, PartnerInvolvement, Round
from app.models.bid import MergedSection
from app.services.consolidation import get_or_create_bid
from tests.test_consolidation import A1_LINES, A2_LINES, LEAD_LINES, accepted_world, expected  # noqa: F401

CSS = Path(__file__).resolve().parent.parent / "app" / "static" / "dist" / "app.css"


def url(world) -> str:
    return f"/bid/rounds/{world.round_a}/whole"


def merge_texts(app, world) -> list[tuple[str, str]]:
    """A merged text for every section but the last; (heading, text) of every section in order."""
    with app.app_context():
        rnd = db.session.get(Round, world.round_a)
        bid = get_or_create_bid(rnd)
        shown = []
        for i, s in enumerate(rnd.sections):
            text = f"Merged text number {i + 1} for {s.title}." if i < len(rnd.sections) - 1 else ""
            if text:
                db.session.add(MergedSection(bid=bid, section_id=s.id, text=text, version=1))
            shown.append((f"{s.number}. {s.title}", text))
        a1 = db.session.get(Round, world.round_a).contributions
        for c in a1:
            db.session.add(Outcome(contribution_id=c.id, measure=f"Outcome of {c.csp.name}", baseline="42",
                                   target="30", by_when=date(2020, 3, 31)))
            db.session.add(PartnerInvolvement(contribution_id=c.id, organisation_name="Thames Valley Police",
                                              role=f"Referrals for {c.csp.name}"))
        db.session.commit()
    return shown


def test_every_section_in_order_then_budget_outcomes_and_partners(app, accepted_world, signed_in):  # noqa: F811
    world = accepted_world
    shown = merge_texts(app, world)
    page = html.unescape(signed_in("viewer").get(url(world)).get_data(as_text=True))
    positions = [page.index(f">{heading}</h2>") for heading, _ in shown]
    assert positions == sorted(positions)
    for _, text in shown[:-1]:
        assert text in page
    last = page[positions[-1]:page.index('id="budget"')]
    assert "No merged text yet" in last
    assert positions[-1] < page.index(">Budget</h2>") < page.index(">Outcomes</h2>") < page.index(">Partners</h2>")

    _, by_who, _, _, total = expected({"a1": A1_LINES, "a2": A2_LINES, "lead": LEAD_LINES})
    assert f"£{total / 100:,.2f}" in page
    for amount in by_who.values():
        assert f"£{amount / 100:,.2f}" in page
    assert "Outcome of Reading Community Safety Partnership" in page
    assert page.count(">Thames Valley Police<") == 1  # listed once, with both CSPs' roles
    assert "Referrals for Safer Slough Partnership" in page
    assert "Print this page" in page


def test_linked_from_the_bid_overview(app, world, signed_in):
    page = signed_in("lead_staff").get(f"/bid/rounds/{world.round_a}").get_data(as_text=True)
    assert f'href="{url(world)}"' in page and "The whole bid on one page" in page


def test_lead_roles_only(app, world, signed_in):
    for who in ("lead_admin", "lead_staff", "viewer"):
        assert signed_in(who).get(url(world)).status_code == 200, who
    for who in ("csp_manager", "csp_contributor"):
        assert signed_in(who).get(url(world)).status_code == 403, who
    assert signed_in("lead_admin").get(f"/bid/rounds/{world.round_b}/whole").status_code == 404


def test_printing_leaves_out_the_service_around_the_bid():
    css = CSS.read_text()
    prints = " ".join(re.findall(r"@media print\s*\{(.*?\})\s*\}", css, re.DOTALL))
    for chrome in (".pb-header", ".govuk-service-navigation", ".govuk-footer", ".govuk-button", ".govuk-back-link"):
        assert chrome in prints, chrome
    assert "display:none" in prints.replace(" ", "")
    assert "break-before:page" in prints.replace(" ", "") or "page-break-before:always" in prints.replace(" ", "")
