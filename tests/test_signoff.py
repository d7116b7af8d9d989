"""The readiness checklist, sign-off, submission to the funder, locking and reopening."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Attachment,
    AuditEvent,
    BudgetLine,
    Contribution,
    ContributionStatus,
    OutboxEmail,
    OutboxStatus,
    Round,
    User,
)
from app.models.bid import BidStatus, CollectiveBid, MergedSection, SectionState
from app.policy import can_edit_contribution
from app.services import ServiceError, signoff
from app.services import consolidation as service
from app.services.consolidation import get_or_create_bid
from tests.conftest import post_form


def _round(world) -> Round:
    return db.session.get(Round, world.round_a)


def _bid(world) -> CollectiveBid:
    return db.session.scalar(select(CollectiveBid).where(CollectiveBid.round_id == world.round_a))


def make_ready(app, world) -> None:
    """Everything the checklist asks for, set up directly."""
    with app.app_context():
        rnd = _round(world)
        for n, c in enumerate(rnd.contributions):
            db.session.add(BudgetLine(
                contribution=c, financial_year=rnd.financial_years[n % 2], cost_category=rnd.cost_categories[0],
                description="Detached youth workers", amount_pence=100_000_00,
            ))
            db.session.add(Attachment(
                contribution=c, filename="problem-profile.pdf", stored_name=f"stored-{c.id}",
                content_type="application/pdf", size_bytes=100, sha256="0" * 64,
            ))
            c.status = ContributionStatus.ACCEPTED
            c.documents_completed = True
        bid = get_or_create_bid(rnd)
        for s in rnd.sections:
            db.session.add(MergedSection(bid=bid, section=s, text="Merged text for the section.", version=1,
                                         state=SectionState.FINAL))
        db.session.commit()


def items(app, world) -> dict:
    with app.app_context(), app.test_request_context():
        return {i.key: i for i in service.readiness(_round(world)).items}


def test_checklist_of_a_fresh_round_fails_with_links(app, world, signed_in):
    got = items(app, world)
    assert set(got) == {"contributions", "sections", "budget", "match", "documents"}
    assert not got["contributions"].ok and "No contributions have been accepted yet" in got["contributions"].problems
    assert not got["sections"].ok and not got["budget"].ok and not got["documents"].ok
    assert got["match"].ok  # EIYF sets no percentage
    page = html.unescape(signed_in("lead_staff").get(f"/bid/rounds/{world.round_a}/readiness").get_data(as_text=True))
    assert "4 of 5 items do not pass yet" in page
    assert f'href="/review/rounds/{world.round_a}"' in page
    assert "A lead bidder administrator signs off the bid" in page


def test_checklist_passes_when_everything_is_there(app, world, signed_in):
    make_ready(app, world)
    assert all(i.ok for i in items(app, world).values())
    page = html.unescape(signed_in("lead_admin").get(f"/bid/rounds/{world.round_a}/readiness").get_data(as_text=True))
    assert "Every item passes: the bid is ready to be signed off" in page
    assert "Sign off the bid" in page


def test_each_item_fails_on_its_own(app, world):
    make_ready(app, world)
    with app.app_context():
        rnd = _round(world)
        rnd.contributions[1].status = ContributionStatus.SUBMITTED
        section = next(s for s in rnd.sections if s.required)
        merged = db.session.scalar(select(MergedSection).where(MergedSection.section_id == section.id))
        merged.text = "   "
        limited = next(s for s in rnd.sections if s.word_limit and s.id != section.id)
        other = db.session.scalar(select(MergedSection).where(MergedSection.section_id == limited.id))
        other.text = "word " * (limited.word_limit + 1)
        rnd.contributions[0].documents_completed = False
        rnd.match_percent = 50
        db.session.add(BudgetLine(
            contribution=rnd.contributions[0], financial_year=rnd.financial_years[0],
            cost_category=rnd.cost_categories[0], description="Too much", amount_pence=300_000_00,
        ))
        db.session.commit()
        csp = rnd.contributions[1].csp.name
    got = items(app, world)
    assert not any(i.ok for i in got.values())
    assert f"{csp}: submitted, not accepted" in got["contributions"].problems
    assert any("no merged text yet" in p for p in got["sections"].problems)
    assert any("over the" in p and "word limit" in p for p in got["sections"].problems)
    assert any("over the £350,000.00 cap for 2018/19" in p for p in got["budget"].problems)
    assert any("short of the expected 50%" in p for p in got["match"].problems)
    assert any("has not marked its supporting documents as completed" in p for p in got["documents"].problems)


def test_excluded_contributions_do_not_block(app, world):
    make_ready(app, world)
    with app.app_context():
        _round(world).contributions[1].status = ContributionStatus.EXCLUDED
        db.session.commit()
    assert all(i.ok for i in items(app, world).values())


def _sign_off(client, world, declaration="I confirm the bid is accurate."):
    return post_form(client, f"/bid/rounds/{world.round_a}/sign-off", {"declaration": declaration})


def test_sign_off_by_an_administrator_records_the_declaration(app, world, signed_in):
    make_ready(app, world)
    client = signed_in("lead_admin")
    form = html.unescape(client.get(f"/bid/rounds/{world.round_a}/sign-off").get_data(as_text=True))
    assert signoff.DEFAULT_DECLARATION in form
    response = _sign_off(client, world)
    assert response.status_code == 302
    with app.app_context():
        bid = _bid(world)
        assert bid.status == BidStatus.SIGNED_OFF
        assert bid.signed_off_by_id == world.users["lead_admin"]
        assert bid.sign_off_declaration == "I confirm the bid is accurate."
        assert abs(bid.signed_off_at - datetime.now(UTC)) < timedelta(minutes=1)
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "bid.signed_off"))
        assert event.actor_id == world.users["lead_admin"]
        assert event.detail["declaration"] == "I confirm the bid is accurate."
        emails = db.session.scalars(
            select(OutboxEmail.to_address).where(OutboxEmail.template == "bid_signed_off",
                                                 OutboxEmail.status == OutboxStatus.PENDING)
        ).all()
        assert sorted(emails) == sorted([world.emails["lead_admin"], world.emails["lead_staff"]])
    page = html.unescape(client.get(f"/bid/rounds/{world.round_a}/readiness").get_data(as_text=True))
    assert "Signed off by" in page and "I confirm the bid is accurate." in page
    # Signing off twice is refused.
    assert client.get(f"/bid/rounds/{world.round_a}/sign-off").status_code == 302


def test_sign_off_needs_a_declaration(app, world, signed_in):
    make_ready(app, world)
    response = _sign_off(signed_in("lead_admin"), world, declaration="  ")
    assert response.status_code == 400
    assert "Enter the declaration" in response.get_data(as_text=True)
    with app.app_context():
        assert _bid(world).status == BidStatus.DRAFT


def test_sign_off_only_when_ready(app, world, signed_in):
    response = _sign_off(signed_in("lead_admin"), world)
    assert response.status_code == 400
    page = html.unescape(response.get_data(as_text=True))
    assert "cannot be signed off until every item in the readiness checklist passes" in page
    assert "I confirm the bid is accurate." in page  # kept
    with app.app_context():
        bid = _bid(world)
        assert bid is None or bid.status == BidStatus.DRAFT


@pytest.mark.parametrize("who", ["lead_staff", "viewer", "csp_manager"])
def test_only_administrators_sign_off(app, world, signed_in, who):
    make_ready(app, world)
    client = signed_in(who)
    assert client.get(f"/bid/rounds/{world.round_a}/sign-off").status_code == 403
    assert client.post(f"/bid/rounds/{world.round_a}/sign-off", data={"declaration": "x"}).status_code == 403
    with app.app_context():
        staff = db.session.get(User, world.users["lead_staff"])
        with pytest.raises(ServiceError, match="Only a lead bidder administrator"):
            signoff.sign_off(staff, _bid(world), "x")
        assert _bid(world).status == BidStatus.DRAFT


def test_another_lead_bidder_gets_404(app, world, signed_in):
    make_ready(app, world)
    client = signed_in("other_lead_admin")
    for path in ("readiness", "sign-off", "submitted", "reopen", "budget"):
        assert client.get(f"/bid/rounds/{world.round_a}/{path}").status_code == 404


def _backdate_sign_off(app, world, when=datetime(2018, 9, 27, 9, 0, tzinfo=UTC)) -> None:
    """The round's history as it was in 2018: signed off the day before it went to the funder."""
    with app.app_context():
        db.session.execute(
            CollectiveBid.__table__.update().where(CollectiveBid.round_id == world.round_a).values(signed_off_at=when)
        )
        db.session.commit()


def _mark_submitted(client, world, backdate=True, **overrides):
    if backdate:
        _backdate_sign_off(client.application, world)
    data = {
        "submitted_on": ["28", "9", "2018"],
        "submitted_time": "11:45am",
        "funder_reference": "EIYF-2018-0042",
    }
    data.update(overrides)
    return post_form(client, f"/bid/rounds/{world.round_a}/submitted", data)


def test_mark_submitted_with_date_time_and_reference_locks_contributions(app, world, signed_in):
    make_ready(app, world)
    admin = signed_in("lead_admin")
    # Not yet signed off: sent back to the checklist.
    assert admin.get(f"/bid/rounds/{world.round_a}/submitted").status_code == 302
    assert _sign_off(admin, world).status_code == 302
    with app.app_context():
        manager = db.session.get(User, world.users["csp_manager"])
        contribution = db.session.get(Contribution, world.contribution_a1)
        contribution.status = ContributionStatus.CHANGES_REQUESTED  # would be editable but for the bid
        db.session.commit()
        assert not can_edit_contribution(manager, contribution)
    response = _mark_submitted(admin, world)
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        bid = _bid(world)
        assert bid.status == BidStatus.SUBMITTED
        assert bid.funder_reference == "EIYF-2018-0042"
        assert bid.submitted_at == datetime(2018, 9, 28, 10, 45, tzinfo=UTC)  # 11:45am BST
        assert bid.submitted_by_id == world.users["lead_admin"]
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "bid.submitted")).detail[
            "funder_reference"] == "EIYF-2018-0042"
        assert db.session.scalar(select(OutboxEmail).where(OutboxEmail.template == "bid_submitted")) is not None
    page = html.unescape(admin.get(f"/bid/rounds/{world.round_a}/readiness").get_data(as_text=True))
    assert "EIYF-2018-0042" in page and "11:45am on Friday 28 September 2018" in page

    manager = signed_in("csp_manager")
    response = manager.get(f"/contributions/{world.contribution_a1}/budget/lines/new")
    assert response.status_code == 302
    page = html.unescape(manager.get(response.headers["Location"]).get_data(as_text=True))
    assert "has signed off the collective bid, so contributions cannot be changed unless it is reopened" in page


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"submitted_time": "25:00"}, "Enter a time like 12pm, 9:30am or 17:00"),
        ({"submitted_time": ""}, "Enter the time it was submitted"),
        ({"funder_reference": ""}, "Enter the funder’s reference for the bid"),
        ({"submitted_on": ["", "", ""]}, "Enter the date it was submitted"),
        ({"submitted_on": ["31", "2", "2018"]}, "Date it was submitted must be a real date"),
        ({"submitted_on": ["1", "1", "2099"]}, "The date and time it was submitted must be in the past"),
    ],
)
def test_mark_submitted_refuses_bad_input(app, world, signed_in, overrides, message):
    make_ready(app, world)
    admin = signed_in("lead_admin")
    _sign_off(admin, world)
    response = _mark_submitted(admin, world, **overrides)
    assert response.status_code == 400
    assert message in html.unescape(response.get_data(as_text=True))
    with app.app_context():
        assert _bid(world).status == BidStatus.SIGNED_OFF


def test_reopen_needs_a_reason_and_is_recorded(app, world, signed_in):
    make_ready(app, world)
    admin = signed_in("lead_admin")
    _sign_off(admin, world)
    _mark_submitted(admin, world)
    response = post_form(admin, f"/bid/rounds/{world.round_a}/reopen", {"reason": ""})
    assert response.status_code == 400
    assert "Enter why the bid is being reopened" in response.get_data(as_text=True)
    response = post_form(admin, f"/bid/rounds/{world.round_a}/reopen", {"reason": "The Home Office asked for a change"})
    assert response.status_code == 302
    with app.app_context():
        bid = _bid(world)
        assert bid.status == BidStatus.DRAFT
        assert bid.reopen_reason == "The Home Office asked for a change" and bid.reopened_at is not None
        assert (bid.signed_off_by_id, bid.signed_off_at, bid.sign_off_declaration) == (None, None, None)
        assert (bid.submitted_at, bid.funder_reference) == (None, None)
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "bid.reopened"))
        assert event.detail["previous"]["funder_reference"] == "EIYF-2018-0042"
        assert event.actor_id == world.users["lead_admin"]
        manager = db.session.get(User, world.users["csp_manager"])
        contribution = db.session.get(Contribution, world.contribution_a1)
        contribution.status = ContributionStatus.CHANGES_REQUESTED
        assert can_edit_contribution(manager, contribution)
        db.session.rollback()
    page = html.unescape(admin.get(f"/bid/rounds/{world.round_a}/readiness").get_data(as_text=True))
    assert "The Home Office asked for a change" in page
    # It can be signed off again.
    assert _sign_off(admin, world).status_code == 302


@pytest.mark.parametrize("who", ["lead_staff", "viewer"])
def test_staff_and_viewers_cannot_submit_or_reopen(app, world, signed_in, who):
    make_ready(app, world)
    _sign_off(signed_in("lead_admin"), world)
    client = signed_in(who)
    assert client.get(f"/bid/rounds/{world.round_a}/submitted").status_code == 403
    assert client.get(f"/bid/rounds/{world.round_a}/reopen").status_code == 403
    assert client.post(f"/bid/rounds/{world.round_a}/reopen", data={"reason": "x"}).status_code == 403


def test_the_bid_overview_links_to_the_pages_and_summarises_readiness(app, world, signed_in):
    page = html.unescape(signed_in("lead_staff").get(f"/bid/rounds/{world.round_a}").get_data(as_text=True))
    assert f'href="/bid/rounds/{world.round_a}/budget"' in page
    assert f'href="/bid/rounds/{world.round_a}/partners"' in page
    assert "Not ready" in page and "4 of 5 checklist items do not pass" in page
    make_ready(app, world)
    page = html.unescape(signed_in("lead_admin").get(f"/bid/rounds/{world.round_a}").get_data(as_text=True))
    assert "Every checklist item passes." in page and "See the checklist and sign off the bid" in page


def test_two_administrators_cannot_both_sign_off(app, world):
    from sqlalchemy import update

    make_ready(app, world)
    with app.app_context(), app.test_request_context():
        admin = db.session.get(User, world.users["lead_admin"])
        bid = _bid(world)
        # Someone else signs off (or changes the bid) after this administrator loaded it.
        db.session.execute(
            update(CollectiveBid).values(version=CollectiveBid.version + 1).execution_options(synchronize_session=False)
        )
        with pytest.raises(ServiceError, match="Someone else changed the bid"):
            signoff.sign_off(admin, bid, "I confirm")
