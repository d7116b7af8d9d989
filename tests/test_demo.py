"""flask demo seed: Thames Valley OPCC, its 14 CSPs and people, and rounds that show each step of
the life cycle (the 2018 round as it ended, a current open round, a round being set up)."""

from __future__ import annotations

import re
from datetime import date, time

from sqlalchemy import func, select

from app.dates import london_to_utc, utc_to_london_parts
from app.extensions import db
from app.models import (
    AuditEvent,
    BidOutcome,
    Contribution,
    ContributionStatus,
    DeadlineChange,
    DeadlineKind,
    Organisation,
    OrganisationKind,
    OutboxEmail,
    OutboxStatus,
    Role,
    Round,
    RoundStatus,
    User,
)
from app.models.bid import CollectiveBid, MergedSection, SectionState
from tests.conftest import sign_in


def _london_day(value):
    return utc_to_london_parts(value)[0]


def _financial_year(start: int) -> str:
    return f"{start}/{str(start + 1)[2:]}"


def test_demo_seed_loads_thames_valley_and_prints_working_passwords(app):
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        lead = db.session.scalar(select(Organisation).where(Organisation.kind == OrganisationKind.LEAD_BIDDER))
        csps = db.session.scalars(select(Organisation).where(Organisation.lead_bidder_id == lead.id)).all()
        assert lead.short_name == "Thames Valley OPCC"
        assert len(csps) == 14
        assert {"Reading Community Safety Partnership", "Safer MK", "South and Vale Community Safety Partnership"} <= {
            c.name for c in csps
        }
        managers = db.session.scalar(select(func.count()).where(User.role == Role.CSP_MANAGER))
        assert managers == 14
        for csp in csps:
            assert [u.role for u in csp.users] == [Role.CSP_MANAGER]
        roles = set(db.session.scalars(select(User.role).where(User.organisation_id == lead.id)))
        assert {Role.LEAD_ADMIN, Role.LEAD_STAFF} <= roles

    logins = dict(re.findall(r"^\s+(\S+@\S+)\s+(\S+)\s", result.output, re.MULTILINE))
    assert len(logins) == 17
    with app.app_context():
        rounds = {r.status: r.id for r in db.session.scalars(select(Round))}
        _check_2018_round()
        _check_current_round()
        _check_draft_round()
        _check_no_emails_waiting()
    _check_pages(app, logins, rounds)

    again = app.test_cli_runner().invoke(args=["demo", "seed", "--if-empty"])
    assert again.exit_code == 0
    assert "admin@tvpcc.example.org" in again.output  # the saved logins are shown again
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Organisation)) == 15
        assert db.session.scalar(select(func.count()).select_from(Round)) == 3


def _check_2018_round():
    rnd = db.session.scalar(select(Round).where(Round.title == "Early Intervention Youth Fund 2018"))
    assert rnd.status == RoundStatus.ARCHIVED
    assert rnd.outcome == BidOutcome.AWARDED
    assert rnd.awarded_pence == 822_000_00
    assert _london_day(rnd.outcome_on) == date(2018, 11, 12)
    assert _london_day(rnd.archived_at) == date(2019, 1, 7)
    assert [y.label for y in rnd.financial_years] == ["2018/19", "2019/20"]
    bid = db.session.scalar(select(CollectiveBid).where(CollectiveBid.round_id == rnd.id))
    assert _london_day(bid.submitted_at) == date(2018, 9, 28)
    assert bid.funder_reference
    assert bid.signed_off_at < bid.submitted_at
    assert _london_day(bid.signed_off_at) < date(2018, 9, 28)
    assert bid.submitted_at < rnd.funder_deadline
    states = db.session.scalars(select(MergedSection.state).where(MergedSection.bid_id == bid.id)).all()
    assert len(states) == len(rnd.sections) and set(states) == {SectionState.FINAL}
    statuses = sorted(c.status for c in rnd.contributions)
    assert statuses.count(ContributionStatus.ACCEPTED) == 13
    assert statuses.count(ContributionStatus.EXCLUDED) == 1

    # The deadline history: 12pm on Friday 14 September 2018, extended to 12pm on Friday 28 September.
    changes = db.session.scalars(select(DeadlineChange).where(DeadlineChange.round_id == rnd.id)).all()
    funder = next(c for c in changes if c.kind == DeadlineKind.FUNDER)
    assert funder.old_at == london_to_utc(date(2018, 9, 14), time(12))
    assert funder.new_at == london_to_utc(date(2018, 9, 28), time(12)) == rnd.funder_deadline
    assert funder.reason and funder.changed_at.year == 2018
    assert any(c.kind == DeadlineKind.INTERNAL and c.caused_by_id == funder.id for c in changes)

    # Everything that happened in the round is dated when it happened.
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.summary.contains(rnd.title))).all()
    assert len(events) > 10
    assert {e.created_at.year for e in events} == {2018, 2019}  # archived in January 2019
    assert rnd.created_at.year == 2018 and _london_day(rnd.opened_at) == date(2018, 8, 2)


def _check_current_round():
    rnd = db.session.scalar(select(Round).where(Round.status == RoundStatus.OPEN))
    today = date.today()
    assert _london_day(rnd.internal_deadline) > today
    assert _london_day(rnd.funder_deadline) > _london_day(rnd.internal_deadline)
    # Its financial years are the two starting after the funder's deadline, whatever today is.
    deadline = _london_day(rnd.funder_deadline)
    first = deadline.year + 1 if deadline >= date(deadline.year, 4, 1) else deadline.year
    assert [y.label for y in rnd.financial_years] == [_financial_year(first), _financial_year(first + 1)]
    assert "2018" not in rnd.title and "2018" not in rnd.summary
    assert {c.status for c in rnd.contributions} == set(ContributionStatus)
    assert not any("2017/18" in r.text or "2018" in r.text for c in rnd.contributions for r in c.responses)


def _check_draft_round():
    rnd = db.session.scalar(select(Round).where(Round.status == RoundStatus.DRAFT))
    assert rnd.sections and rnd.contributions and rnd.match_percent == 50
    assert _london_day(rnd.internal_deadline) > date.today()


def _check_no_emails_waiting():
    pending = db.session.scalars(select(OutboxEmail).where(OutboxEmail.status == OutboxStatus.PENDING)).all()
    assert not [e for e in pending if e.created_at.year < 2020 or "2018" in e.subject + e.body_text]
    assert db.session.scalar(select(func.count()).select_from(OutboxEmail)) > 0  # queued, then cancelled


def _check_pages(app, logins, rounds):
    admin = app.test_client()
    sign_in(admin, "admin@tvpcc.example.org", logins["admin@tvpcc.example.org"])
    assert "Thames Valley" in admin.get("/admin/organisation").get_data(as_text=True)
    listing = admin.get("/rounds")
    assert listing.status_code == 200
    assert "Early Intervention Youth Fund 2018" in listing.get_data(as_text=True)
    paths = ["/home", "/rounds"]
    for round_id in rounds.values():
        paths += [f"/rounds/{round_id}", f"/rounds/{round_id}/deadlines", f"/review/rounds/{round_id}",
                  f"/bid/rounds/{round_id}", f"/bid/rounds/{round_id}/readiness", f"/bid/rounds/{round_id}/budget"]
    for path in paths:
        assert admin.get(path).status_code == 200, path
    page = admin.get(f"/rounds/{rounds[RoundStatus.ARCHIVED]}").get_data(as_text=True)
    assert "£822,000" in page and "28 September 2018" in page

    manager = app.test_client()
    sign_in(manager, "reading@csp.example.org", logins["reading@csp.example.org"])
    with app.app_context():
        reading = db.session.scalar(select(Organisation).where(Organisation.short_name == "Reading CSP"))
        mine = db.session.scalars(select(Contribution).where(Contribution.csp_id == reading.id))
        contributions = {c.round.status: c.id for c in mine}
    assert set(contributions) == {RoundStatus.ARCHIVED, RoundStatus.OPEN, RoundStatus.DRAFT}
    for path in ["/home", *(f"/contributions/{contributions[s]}" for s in (RoundStatus.ARCHIVED, RoundStatus.OPEN))]:
        assert manager.get(path).status_code == 200, path
    assert manager.get(f"/contributions/{contributions[RoundStatus.DRAFT]}").status_code != 200  # not open yet
