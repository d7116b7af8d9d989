"""The consolidated budget, outcomes and partners of the collective bid, and lead-held lines.

Expected totals are worked out here, in the test, from the lines themselves."""

from __future__ import annotations

import html
from collections import defaultdict
from datetime import date

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AuditEvent,
    BudgetLine,
    Contribution,
    ContributionStatus,
    MatchType,
    Outcome,
    PartnerInvolvement,
    Round,
    RoundStatus,
    User,
)
from app.models.bid import LeadBudgetLine
from app.services import ServiceError
from app.services import consolidation as service
from app.services.budget import Invalid
from app.services.consolidation import get_or_create_bid
from tests.conftest import post_form
from tests.test_budget import post_page


def _round(world) -> Round:
    return db.session.get(Round, world.round_a)


def set_status(app, contribution_id: int, status: ContributionStatus) -> None:
    with app.app_context():
        db.session.get(Contribution, contribution_id).status = status
        db.session.commit()


def add_lines(app, contribution_id: int, lines: list[tuple]) -> None:
    """lines: (year index, category index, amount pence, match pence, match type)."""
    with app.app_context():
        c = db.session.get(Contribution, contribution_id)
        for y, k, amount, match, kind in lines:
            db.session.add(BudgetLine(
                contribution=c, financial_year=c.round.financial_years[y], cost_category=c.round.cost_categories[k],
                description=f"Line {y}/{k}/{amount}", amount_pence=amount, match_pence=match,
                match_type=kind if match else None,
            ))
        db.session.commit()


def add_lead_lines(app, world, lines: list[tuple]) -> None:
    with app.app_context():
        rnd = _round(world)
        bid = get_or_create_bid(rnd)
        for y, k, amount, match, kind in lines:
            db.session.add(LeadBudgetLine(
                bid=bid, financial_year=rnd.financial_years[y], cost_category=rnd.cost_categories[k],
                description=f"Lead {y}/{k}/{amount}", amount_pence=amount, match_pence=match,
                match_type=kind if match else None,
            ))
        db.session.commit()


A1_LINES = [
    (0, 0, 61_250_50, 5_000_00, MatchType.CASH),
    (0, 1, 40_000_00, 0, None),
    (1, 0, 63_000_00, 2_500_00, MatchType.IN_KIND),
    (1, 3, 1_999_99, 0, None),
]
A2_LINES = [
    (0, 0, 30_000_00, 0, None),
    (1, 2, 12_345_67, 1_000_00, MatchType.CASH),
]
LEAD_LINES = [(0, 4, 10_000_00, 0, None), (1, 4, 10_000_00, 3_000_00, MatchType.IN_KIND)]


def expected(groups: dict[str, list[tuple]]):
    cells, by_who, by_year, match_by_kind = defaultdict(int), defaultdict(int), defaultdict(int), defaultdict(int)
    total = 0
    for who, lines in groups.items():
        for y, k, amount, match, kind in lines:
            cells[(k, y)] += amount
            by_who[who] += amount
            by_year[y] += amount
            total += amount
            if match:
                match_by_kind[kind] += match
    return cells, by_who, by_year, match_by_kind, total


@pytest.fixture
def accepted_world(app, world):
    add_lines(app, world.contribution_a1, A1_LINES)
    add_lines(app, world.contribution_a2, A2_LINES)
    add_lead_lines(app, world, LEAD_LINES)
    set_status(app, world.contribution_a1, ContributionStatus.ACCEPTED)
    set_status(app, world.contribution_a2, ContributionStatus.ACCEPTED)
    return world


def test_totals_by_year_and_category_by_csp_and_match(app, accepted_world):
    world = accepted_world
    cells, by_who, by_year, match_by_kind, total = expected({"a1": A1_LINES, "a2": A2_LINES, "lead": LEAD_LINES})
    with app.app_context():
        rnd = _round(world)
        b = service.consolidated_budget(rnd)
        s = b.summary
        years, cats = rnd.financial_years, rnd.cost_categories
        for k, cat in enumerate(cats):
            for y, year in enumerate(years):
                assert s.amount(cat, year) == cells.get((k, y), 0), (cat.name, year.label)
        assert [s.by_year[y.id] for y in years] == [by_year[0], by_year[1]]
        assert s.total == total == sum(by_who.values())
        rows = {(c.id if c else "lead"): cs.total for _, c, cs in b.by_csp}
        assert rows == {
            world.contribution_a1: by_who["a1"], world.contribution_a2: by_who["a2"], "lead": by_who["lead"]
        }
        assert s.match_by_type[MatchType.CASH] == match_by_kind[MatchType.CASH]
        assert s.match_by_type[MatchType.IN_KIND] == match_by_kind[MatchType.IN_KIND]
        assert b.counted_match_pence == sum(match_by_kind.values())


def test_budget_page_shows_the_tables(app, accepted_world, signed_in):
    _, by_who, _, match_by_kind, total = expected({"a1": A1_LINES, "a2": A2_LINES, "lead": LEAD_LINES})
    page = html.unescape(signed_in("viewer").get(f"/bid/rounds/{accepted_world.round_a}/budget").get_data(as_text=True))
    assert "Consolidated budget" in page
    assert f"£{total / 100:,.2f}" in page
    for amount in by_who.values():
        assert f"£{amount / 100:,.2f}" in page
    assert "Reading Community Safety Partnership" in page and "Safer Slough Partnership" in page
    assert "(lead-held lines)" in page
    assert f"£{match_by_kind[MatchType.IN_KIND] / 100:,.2f}" in page
    assert "Add a lead-held budget line" not in page  # viewers only look


def test_submitted_and_excluded_contributions_are_not_counted(app, world, signed_in):
    add_lines(app, world.contribution_a1, A1_LINES)
    add_lines(app, world.contribution_a2, A2_LINES)
    set_status(app, world.contribution_a1, ContributionStatus.ACCEPTED)
    set_status(app, world.contribution_a2, ContributionStatus.SUBMITTED)
    _, by_who, _, _, _ = expected({"a1": A1_LINES, "a2": A2_LINES})
    with app.app_context():
        b = service.consolidated_budget(_round(world))
        assert b.summary.total == by_who["a1"]
        assert [c.id for c, _ in b.waiting] == [world.contribution_a2]
        assert b.waiting_total == by_who["a2"]
    page = html.unescape(signed_in("lead_staff").get(f"/bid/rounds/{world.round_a}/budget").get_data(as_text=True))
    assert "Not counted yet: 1 submitted contribution" in page
    assert f"Accepting it would add <strong>£{by_who['a2'] / 100:,.2f}</strong>" in page

    set_status(app, world.contribution_a2, ContributionStatus.EXCLUDED)
    with app.app_context():
        b = service.consolidated_budget(_round(world))
        assert b.summary.total == by_who["a1"] and not b.waiting
    set_status(app, world.contribution_a1, ContributionStatus.IN_PROGRESS)
    with app.app_context():
        assert service.consolidated_budget(_round(world)).summary.total == 0


@pytest.mark.parametrize(
    ("amount", "ok", "message"),
    [
        (700_000_00, True, "The bid asks for £700,000.00, which is within the £700,000.00 cap"),
        (700_000_01, False, "The bid asks for £700,000.01, which is £0.01 over the £700,000.00 cap"),
        (712_400_00, False, "The bid asks for £712,400.00, which is £12,400.00 over the £700,000.00 cap"),
        (699_999_99, True, "The bid asks for £699,999.99, which is within the £700,000.00 cap (£0.01 left)"),
    ],
)
def test_cap_per_bid_at_over_and_under(app, world, amount, ok, message):
    with app.app_context():
        rnd = _round(world)
        rnd.financial_years[0].cap_pence = rnd.financial_years[1].cap_pence = None
        db.session.commit()
    add_lines(app, world.contribution_a1, [(0, 0, amount, 0, None)])
    set_status(app, world.contribution_a1, ContributionStatus.ACCEPTED)
    with app.app_context():
        b = service.consolidated_budget(_round(world))
        (check,) = b.checks
        assert (check.ok, check.message) == (ok, message)
        assert b.within_caps is ok


@pytest.mark.parametrize(("amount", "ok"), [(350_000_00, True), (350_000_01, False), (349_999_99, True)])
def test_cap_per_financial_year(app, world, amount, ok):
    add_lines(app, world.contribution_a1, [(1, 0, amount - 1_000_00, 0, None)])
    add_lead_lines(app, world, [(1, 4, 1_000_00, 0, None)])
    set_status(app, world.contribution_a1, ContributionStatus.ACCEPTED)
    with app.app_context():
        b = service.consolidated_budget(_round(world))
        year = next(c for c in b.checks if c.label == "2019/20")
        assert year.ok is ok
        assert next(c for c in b.checks if c.label == "2018/19").ok  # nothing asked in 2018/19
        if not ok:
            assert year.message == (
                "2019/20 asks for £350,000.01, which is £0.01 over the £350,000.00 cap for 2019/20"
            )


@pytest.mark.parametrize(("cash", "ok"), [(10_000_00, True), (9_999_99, False), (12_000_00, True)])
def test_match_funding_expectation_counts_only_allowed_kinds(app, world, cash, ok):
    with app.app_context():
        rnd = _round(world)
        rnd.match_percent = 10
        rnd.match_in_kind = False
        db.session.commit()
    # £100,000 requested; 10% expected = £10,000 in cash. The in-kind £50,000 does not count.
    add_lines(app, world.contribution_a1, [(0, 0, 60_000_00, cash, MatchType.CASH), (0, 1, 40_000_00, 50_000_00,
                                                                                     MatchType.IN_KIND)])
    set_status(app, world.contribution_a1, ContributionStatus.ACCEPTED)
    with app.app_context():
        b = service.consolidated_budget(_round(world))
        assert b.counted_match_pence == cash
        match = next(c for c in b.checks if c.key == "match")
        assert match.ok is ok and b.match_ok is ok
        if not ok:
            assert match.message == (
                "Match funding (cash) is £9,999.99, which is £0.01 short of the expected 10% of the amount "
                "requested (£10,000.00)"
            )


def test_partners_are_listed_once_whatever_their_case_and_spacing(app, world, signed_in):
    with app.app_context():
        a1 = db.session.get(Contribution, world.contribution_a1)
        a2 = db.session.get(Contribution, world.contribution_a2)
        db.session.add_all([
            PartnerInvolvement(contribution=a1, organisation_name="Thames Valley Police", role="Referrals"),
            PartnerInvolvement(contribution=a2, organisation_name="thames  valley police ", role="Data"),
            PartnerInvolvement(contribution=a2, organisation_name="Slough Youth Service", role="Detached work"),
        ])
        a1.status = a2.status = ContributionStatus.ACCEPTED
        db.session.commit()
        partners = service.consolidated_partners(_round(world))
        assert [(p.name, p.csps) for p in partners] == [
            ("Slough Youth Service", ["Safer Slough Partnership"]),
            ("Thames Valley Police", ["Reading Community Safety Partnership", "Safer Slough Partnership"]),
        ]
    page = html.unescape(signed_in("viewer").get(f"/bid/rounds/{world.round_a}/partners").get_data(as_text=True))
    assert page.count("Thames Valley Police") == 1 and "thames  valley" not in page
    assert "2 partners" in page


def test_outcomes_of_accepted_contributions_only(app, world, signed_in):
    with app.app_context():
        for cid, measure in ((world.contribution_a1, "Permanent exclusions"), (world.contribution_a2, "Knife crime")):
            db.session.add(Outcome(contribution_id=cid, measure=measure, baseline="42", target="30",
                                   by_when=date(2020, 3, 31)))
        db.session.get(Contribution, world.contribution_a1).status = ContributionStatus.ACCEPTED
        db.session.get(Contribution, world.contribution_a2).status = ContributionStatus.SUBMITTED
        db.session.commit()
    page = html.unescape(signed_in("lead_admin").get(f"/bid/rounds/{world.round_a}/outcomes").get_data(as_text=True))
    assert "Permanent exclusions" in page and "Reading Community Safety Partnership" in page
    assert "Knife crime" not in page
    assert "Not included yet: Safer Slough Partnership" in page


# --- lead-held lines -------------------------------------------------------------------------


def _form(rnd, **overrides) -> dict:
    data = {
        "financial_year": str(rnd.financial_years[0].id),
        "cost_category": str(rnd.cost_categories[4].id),
        "description": "Independent evaluation",
        "amount": "24,500.50",
        "match_amount": "",
        "match_source": "",
    }
    data.update(overrides)
    return data


def test_lead_lines_add_change_delete(app, world, signed_in):
    client = signed_in("lead_staff")
    base = f"/bid/rounds/{world.round_a}/budget"
    with app.app_context():
        data = _form(_round(world))
    response = post_form(client, f"{base}/lines/new", data)
    assert response.status_code == 302 and response.headers["Location"] == base
    with app.app_context():
        line = db.session.scalar(select(LeadBudgetLine))
        assert (line.description, line.amount_pence, line.updated_by_id) == (
            "Independent evaluation", 24_500_50, world.users["lead_staff"])
        line_id = line.id
        assert service.consolidated_budget(_round(world)).summary.total == 24_500_50
    page = html.unescape(client.get(base).get_data(as_text=True))
    assert "Independent evaluation" in page and "£24,500.50" in page

    data["amount"] = "30,000"
    data["match_amount"] = "5,000"
    data["match_type"] = "in_kind"
    response = post_page(client, f"{base}/lines/{line_id}", data)
    assert response.status_code == 302
    with app.app_context():
        line = db.session.get(LeadBudgetLine, line_id)
        assert (line.amount_pence, line.match_pence, line.match_type) == (30_000_00, 5_000_00, MatchType.IN_KIND)

    confirm = client.get(f"{base}/lines/{line_id}/delete").get_data(as_text=True)
    assert "Are you sure you want to delete this budget line?" in confirm
    response = post_page(client, f"{base}/lines/{line_id}/delete")
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(LeadBudgetLine, line_id) is None
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("lead_budget_line.%"))
        ).all()
        assert sorted(actions) == ["lead_budget_line.added", "lead_budget_line.changed", "lead_budget_line.deleted"]
        actors = set(db.session.scalars(select(AuditEvent.actor_id).where(AuditEvent.action.like("lead_budget%"))))
        assert actors == {world.users["lead_staff"]}


def test_invalid_lead_line_is_refused_keeping_input(app, world, signed_in):
    client = signed_in("lead_admin")
    with app.app_context():
        data = _form(_round(world), description="", amount="12,34x", match_amount="100")
    response = post_form(client, f"/bid/rounds/{world.round_a}/budget/lines/new", data)
    assert response.status_code == 400
    page = html.unescape(response.get_data(as_text=True))
    assert "There is a problem" in page
    assert "Enter a description of what the money is for" in page
    assert "Amount requested must be a number in pounds and pence" in page
    assert "Select whether the match funding is cash or in-kind" in page
    assert 'value="12,34x"' in page
    with app.app_context():
        assert db.session.scalar(select(LeadBudgetLine)) is None


def test_lead_line_of_another_round_is_404(app, world, signed_in):
    add_lead_lines(app, world, [(0, 0, 1_000_00, 0, None)])
    with app.app_context():
        line_id = db.session.scalar(select(LeadBudgetLine.id))
    client = signed_in("other_lead_admin")
    assert client.get(f"/bid/rounds/{world.round_b}/budget/lines/{line_id}").status_code == 404
    assert client.get(f"/bid/rounds/{world.round_a}/budget/lines/{line_id}").status_code == 404


def test_lead_lines_cannot_change_once_signed_off(app, world, signed_in):
    add_lead_lines(app, world, [(0, 0, 1_000_00, 0, None)])
    with app.app_context():
        bid = get_or_create_bid(_round(world))
        _round(world).status = RoundStatus.SIGNED_OFF  # the bid's status is its round's
        db.session.commit()
        line = bid.lead_lines[0]
        line_id = line.id
        admin = db.session.get(User, world.users["lead_admin"])
        with pytest.raises(ServiceError, match="signed off"):
            service.delete_lead_line(admin, line, expected_version=line.version)
        with pytest.raises(ServiceError, match="signed off"):
            service.add_lead_line(admin, bid, financial_year_id=None, cost_category_id=None,
                                  description="x", amount_pence=1)
    client = signed_in("lead_admin")
    response = client.get(f"/bid/rounds/{world.round_a}/budget/lines/{line_id}")
    assert response.status_code == 302
    page = html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "cannot be changed unless an administrator reopens it" in page
    assert "Add a lead-held budget line" not in page


def test_lead_line_rules_are_the_csp_rules(app, world):
    with app.app_context():
        rnd = _round(world)
        bid = get_or_create_bid(rnd)
        with pytest.raises(Invalid) as exc:
            service.add_lead_line(
                db.session.get(User, world.users["lead_staff"]), bid, financial_year_id=rnd.financial_years[0].id,
                cost_category_id=rnd.cost_categories[0].id, description="Nothing", amount_pence=0,
            )
        assert exc.value.problems == [
            ("amount", "Amount requested must be more than £0, unless the whole line is match funding")
        ]
