"""flask demo seed --scale: the national data set for load testing, here at its small scale (the
three benchmark lead bidders, with 5, 14 and 6 CSPs). The national scale is the same code with more
lead bidders and CSPs."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from app import demo_national
from app.extensions import db
from app.models import (
    Attachment,
    AuditEvent,
    BudgetLine,
    Contribution,
    ContributionStatus,
    MergedSection,
    MergedSource,
    Organisation,
    OrganisationKind,
    Role,
    Round,
    RoundStatus,
    SectionResponse,
    SectionRevision,
    User,
)
from app.models.bid import SectionState
from tests.conftest import sign_in


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_the_national_scale_is_41_lead_bidders_with_300_csps_and_london_with_100():
    areas = dict(demo_national.SCALES["national"].areas)
    assert len(areas) == 41
    assert sum(areas.values()) - areas["London"] == 300
    assert {size: areas[area] for size, area in demo_national.BENCHMARK_AREAS.items()} == {5: 5, 14: 14, 100: 100}


def test_small_scale_seed_is_coherent_and_its_pages_work(app):
    result = app.test_cli_runner().invoke(args=["demo", "seed", "--scale", "small"])
    assert result.exit_code == 0, result.output
    assert demo_national.PASSWORD in result.output
    scale = demo_national.SCALES["small"]

    with app.app_context():
        leads = db.session.scalars(select(Organisation).where(Organisation.kind == OrganisationKind.LEAD_BIDDER)).all()
        assert sorted(lead.area for lead in leads) == sorted(area for area, _ in scale.areas)
        for lead in leads:
            csps = [o for o in lead.partners if o.kind == OrganisationKind.CSP]
            assert len(csps) == dict(scale.areas)[lead.area]
            roles = {u.role for u in db.session.scalars(select(User).where(User.lead_bidder_id == lead.id))}
            assert roles == set(Role)  # people of every role, at the lead bidder and its CSPs
            rounds = db.session.scalars(select(Round).where(Round.lead_bidder_id == lead.id)).all()
            assert {r.status for r in rounds} == {RoundStatus.ARCHIVED, RoundStatus.OPEN, RoundStatus.DRAFT}
            for rnd in rounds:
                assert len(rnd.contributions) == len(csps)  # every CSP takes part
                assert rnd.sections and rnd.financial_years and rnd.cost_categories

        # The archived round: accepted or excluded, every merged section final and sourced.
        archived = db.session.scalars(select(Round).where(Round.status == RoundStatus.ARCHIVED)).all()
        for rnd in archived:
            assert {c.status for c in rnd.contributions} <= {ContributionStatus.ACCEPTED, ContributionStatus.EXCLUDED}
            merged = db.session.scalars(select(MergedSection).where(MergedSection.bid.has(round_id=rnd.id))).all()
            assert len(merged) == len(rnd.sections) and {m.state for m in merged} == {SectionState.FINAL}
            assert all(len(m.text.split()) <= m.section.word_limit for m in merged)

        # The benchmark rounds: known sizes, every state at 14 CSPs, revisions as the scale says.
        for size in (5, 14):
            target = demo_national.target(size)
            assert target.csps == size
            rnd = db.session.get(Round, target.round_id)
            assert rnd.status == RoundStatus.OPEN
            if size == 14:
                assert {c.status for c in rnd.contributions} == set(ContributionStatus)
            writing = db.session.get(Contribution, target.csp_contribution_id)
            assert writing.status == ContributionStatus.IN_PROGRESS
            assert writing.manager.email == target.csp_manager
            for response in writing.responses:
                assert [r.number for r in response.revisions] == list(range(1, scale.benchmark_revisions + 1))
                assert response.version == scale.benchmark_revisions
                assert response.text == response.revisions[-1].text
        assert demo_national.target(100).csps == dict(scale.areas)["London"]

        # Texts written to the CSP word limits, never over them; 20 budget lines when submitted.
        for response in db.session.scalars(select(SectionResponse)):
            assert 0 < len(response.text.split()) <= response.section.csp_word_limit
        accepted = db.session.scalars(select(Contribution).where(Contribution.status == ContributionStatus.ACCEPTED))
        for contribution in accepted:
            assert len(contribution.budget_lines) == 20 and contribution.outcomes and contribution.attachments
        assert _count(SectionRevision) > _count(SectionResponse)
        assert _count(MergedSource) > 0 and _count(BudgetLine) > 0 and _count(Attachment) > 0
        assert _count(AuditEvent, AuditEvent.action == "section.saved") > 0
        users = _count(User)

    logins = Path(app.instance_path, "national-logins.txt").read_text()
    assert sum(1 for line in logins.splitlines() if "@" in line) == users

    _check_pages(app)

    again = app.test_cli_runner().invoke(args=["demo", "seed", "--scale", "small", "--if-empty"])
    assert again.exit_code == 0 and "already loaded" in again.output
    refused = app.test_cli_runner().invoke(args=["demo", "seed", "--scale", "small"])
    assert refused.exit_code != 0 and "empty" in refused.output


def _check_pages(app):
    """Every key page of the 14-CSP round, for its lead administrator and a CSP manager."""
    with app.app_context():
        t = demo_national.target(14)
        lead_bidder_id = db.session.get(Round, t.round_id).lead_bidder_id
        archived = db.session.scalar(
            select(Round.id).where(Round.status == RoundStatus.ARCHIVED, Round.lead_bidder_id == lead_bidder_id)
        )
    lead, csp = app.test_client(), app.test_client()
    sign_in(lead, t.lead_admin, demo_national.PASSWORD)
    sign_in(csp, t.csp_manager, demo_national.PASSWORD)
    with app.app_context():
        pages = demo_national.key_pages(t)
    assert len(pages) == len(demo_national.KEY_PAGES) == 18
    for name, who, path in pages:
        assert (csp if who == "csp" else lead).get(path).status_code == 200, name
    for path in ["/rounds", f"/rounds/{t.round_id}", f"/bid/rounds/{archived}", "/admin/activity"]:
        assert lead.get(path).status_code == 200, path
    # The archived bid was signed off: its readiness checklist passes.
    page = lead.get(f"/bid/rounds/{archived}/readiness").get_data(as_text=True)
    assert "Every item passes" in page
