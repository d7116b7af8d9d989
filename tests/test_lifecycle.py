"""The life cycles and the rulebook: every transition allowed and refused, a locked bid stays
locked, counts agree everywhere, dates recorded for the past are checked against the round's
history, and GET pages never write."""

from __future__ import annotations

import html
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditEvent,
    BidOutcome,
    CollectiveBid,
    Contribution,
    ContributionStatus,
    OutboxEmail,
    Reminder,
    ReminderSchedule,
    Round,
    RoundStatus,
    SectionTemplate,
    User,
)
from app.models.base import utcnow
from app.policy import RULES, can, lifecycle, require
from app.services import ServiceError, review, rounds, signoff
from tests.conftest import post_form
from tests.test_signoff import _mark_submitted, _sign_off, make_ready


def _round(world) -> Round:
    return db.session.get(Round, world.round_a)


def _user(world, who) -> User:
    return db.session.get(User, world.users[who])


def _set_status(app, world, status: RoundStatus) -> None:
    with app.app_context():
        _round(world).status = status
        db.session.commit()


def _page(client, url) -> str:
    return html.unescape(client.get(url).get_data(as_text=True))


# --- the transitions, from every state ------------------------------------------------------------

ROUND_ACTIONS = {
    "open": "round.open",
    "close": "round.close",
    "reopen_contributions": "round.reopen_contributions",
    "sign_off": "bid.sign_off",
    "mark_submitted": "bid.mark_submitted",
    "reopen_bid": "bid.reopen",
    "record_outcome": "round.record_outcome",
    "archive": "round.archive",
    "restore": "round.restore",
}


def test_every_round_transition_has_a_rule():
    assert set(ROUND_ACTIONS) == set(lifecycle.ROUND)
    for rule in ROUND_ACTIONS.values():
        assert rule in RULES


@pytest.mark.parametrize("status", list(RoundStatus))
@pytest.mark.parametrize("transition", list(lifecycle.ROUND))
def test_round_transitions_allowed_only_from_their_states(app, world, status, transition):
    _set_status(app, world, status)
    with app.app_context():
        admin = _user(world, "lead_admin")
        allowed = status in lifecycle.ROUND[transition].sources
        assert can(admin, ROUND_ACTIONS[transition], _round(world)) is allowed
        # Nobody else at the lead bidder may, in any state.
        assert not can(_user(world, "lead_staff"), ROUND_ACTIONS[transition], _round(world))
        assert not can(_user(world, "other_lead_admin"), ROUND_ACTIONS[transition], _round(world))


@pytest.mark.parametrize("status", list(ContributionStatus))
@pytest.mark.parametrize("transition", ["request_changes", "accept", "exclude", "include"])
def test_review_transitions_allowed_only_from_their_states(app, world, status, transition):
    with app.app_context():
        contribution = db.session.get(Contribution, world.contribution_a1)
        contribution.status = status
        db.session.commit()
        staff = _user(world, "lead_staff")
        allowed = status in lifecycle.CONTRIBUTION[transition].sources
        assert can(staff, f"contribution.{transition}", contribution) is allowed
        assert not can(_user(world, "viewer"), f"contribution.{transition}", contribution)


@pytest.mark.parametrize("status", [RoundStatus.CLOSED, RoundStatus.SIGNED_OFF, RoundStatus.SUBMITTED])
def test_csps_cannot_change_contributions_unless_the_round_is_open(app, world, status):
    _set_status(app, world, status)
    with app.app_context():
        contribution = db.session.get(Contribution, world.contribution_a1)
        with pytest.raises(ServiceError) as refused:
            require(_user(world, "csp_manager"), "contribution.edit", contribution)
        assert "cannot be changed" in refused.value.message


# --- a signed-off bid is locked: template, budget rules, deadlines, participants -----------------

def test_signed_off_bid_locks_the_round_set_up_until_reopened(app, world, signed_in):
    make_ready(app, world)
    admin = signed_in("lead_admin")
    assert _sign_off(admin, world).status_code == 302
    with app.app_context():
        section = next(s for s in _round(world).sections if s.word_limit)
        section_id, title, limit = section.id, section.title, section.word_limit
    base = f"/rounds/{world.round_a}"
    # The pages refuse, saying why; nothing changes.
    for url in [f"{base}/sections/{section_id}/edit", f"{base}/budget-rules", f"{base}/sections/new",
                f"{base}/edit", f"{base}/participants", f"{base}/deadlines/funder"]:
        response = admin.get(url)
        assert response.status_code == 403, url
        assert "The bid has been signed off, so it cannot be changed unless an administrator reopens it" in \
            html.unescape(response.get_data(as_text=True)), url
    response = post_form(admin, f"{base}/sections/{section_id}/edit", {
        "title": "Renamed after sign-off", "word_limit": "10", "required": "yes", "csp_contributes": "yes",
    }, page=base)
    assert response.status_code == 403
    with app.app_context():
        section = db.session.get(SectionTemplate, section_id)
        assert (section.title, section.word_limit) == (title, limit)
        # The service refuses too (the command line obeys the same rules).
        with pytest.raises(ServiceError, match="signed off"):
            rounds.save_section(_user(world, "lead_admin"), _round(world), section, title="X", word_limit=10)
    round_page = _page(admin, base)
    assert "Bid signed off" in round_page and f'href="/rounds/{world.round_a}/budget-rules"' not in round_page
    # Reopened: the template can change again.
    assert post_form(admin, f"/bid/rounds/{world.round_a}/reopen", {"reason": "Funder asked"}).status_code == 302
    assert admin.get(f"{base}/sections/{section_id}/edit").status_code == 200


def test_submitted_round_shows_its_state_and_no_countdowns(app, world, signed_in):
    make_ready(app, world)
    admin = signed_in("lead_admin")
    _sign_off(admin, world)
    assert _mark_submitted(admin, world).status_code == 302
    listing = _page(admin, "/rounds")
    assert "Submitted to the funder" in listing and "Open for contributions" not in listing
    assert "days left" not in listing
    home = _page(admin, "/home")
    assert "Submitted to the funder" in home and "days left" not in home


# --- one count of "submitted" everywhere ---------------------------------------------------------

def test_every_count_of_submitted_agrees(app, world, signed_in):
    with app.app_context():
        a1, a2 = (db.session.get(Contribution, i) for i in (world.contribution_a1, world.contribution_a2))
        a1.status = ContributionStatus.CHANGES_REQUESTED  # sent back: with the CSP again
        a1.submitted_at = utcnow()
        a2.status = ContributionStatus.RESUBMITTED
        a2.submitted_at = utcnow()
        db.session.commit()
    staff = signed_in("lead_staff")
    expected = "1 of 2 CSPs have submitted"
    assert expected in _page(staff, "/home")
    assert expected in _page(staff, f"/rounds/{world.round_a}")
    overview = _page(staff, f"/review/rounds/{world.round_a}")
    assert re.search(r'pb-review-total__number">1 of 2</span><span class="pb-review-total__label">contributions '
                     r"submitted", overview)
    with app.app_context(), app.test_request_context():
        from app.services.progress import count, counts_by_round
        from app.services.reminders import round_status_summary

        rnd = _round(world)
        assert count(rnd.contributions).submitted == 1
        assert counts_by_round([rnd.id])[rnd.id].submitted == 1
        assert review.totals(review.overview(rnd)).submitted == 1
        assert round_status_summary(rnd, utcnow())["submitted_sentence"] == expected


# --- accepted contributions can be sent back; included again is told -----------------------------

def _complete_every_part(c) -> None:
    from app.models import SectionResponse

    for part in ("budget", "outcomes", "partners", "documents"):
        setattr(c, f"{part}_completed", True)
    for s in c.round.sections:
        if s.csp_contributes:
            db.session.add(SectionResponse(contribution=c, section=s, text="Our text.", completed=True))


def test_an_accepted_contribution_can_be_sent_back_and_the_csp_is_told_why(app, world, signed_in, smtp_server):
    with app.app_context():
        c = db.session.get(Contribution, world.contribution_a1)
        _complete_every_part(c)
        c.status = ContributionStatus.ACCEPTED
        c.submitted_at = utcnow()
        db.session.commit()
    staff = signed_in("lead_staff")
    page = _page(staff, f"/review/contributions/{world.contribution_a1}")
    assert "Send back for changes" in page
    response = post_form(staff, f"/review/contributions/{world.contribution_a1}/request-changes",
                         {"items": ["budget"], "message": "The Home Office lowered the cap: please trim 10%"})
    assert response.status_code == 302
    with app.app_context():
        c = db.session.get(Contribution, world.contribution_a1)
        assert c.status == ContributionStatus.CHANGES_REQUESTED and c.decided_at is None
        email = db.session.scalar(select(OutboxEmail).where(OutboxEmail.template == "changes_requested"))
        assert email.to_address == world.emails["csp_manager"]
        assert "trim 10%" in email.body_text
    manager = signed_in("csp_manager")
    home = _page(manager, "/home")
    assert "Make the changes asked for (Budget), then submit again" in home
    assert "Nothing: ready to submit" not in home
    tasks = _page(manager, f"/contributions/{world.contribution_a1}")
    assert "Ready to submit again" in tasks and "You were asked to revisit: Budget" in tasks


def test_including_an_excluded_contribution_again_emails_the_csp(app, world, signed_in):
    with app.app_context():
        c = db.session.get(Contribution, world.contribution_a1)
        c.status = ContributionStatus.EXCLUDED
        c.submitted_at = utcnow()
        db.session.commit()
    staff = signed_in("lead_staff")
    response = post_form(staff, f"/review/contributions/{world.contribution_a1}/include",
                         {"version": "1"}, page=f"/review/contributions/{world.contribution_a1}")
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Contribution, world.contribution_a1).status == ContributionStatus.SUBMITTED
        email = db.session.scalar(select(OutboxEmail).where(OutboxEmail.template == "review_included"))
        assert email is not None and email.to_address == world.emails["csp_manager"]
        assert "part of the bid again" in email.subject


def test_task_list_says_complete_when_every_part_is_complete(app, world, signed_in):
    with app.app_context():
        _complete_every_part(db.session.get(Contribution, world.contribution_a1))
        db.session.commit()
    page = _page(signed_in("csp_manager"), f"/contributions/{world.contribution_a1}")
    assert "Contribution complete" in page and "Contribution incomplete" not in page


# --- dates recorded for the past are checked against the round's history --------------------------

def test_submitted_to_the_funder_cannot_be_before_sign_off(app, world, signed_in):
    make_ready(app, world)
    admin = signed_in("lead_admin")
    _sign_off(admin, world)  # signed off now: 28 September 2018 is before it
    response = _mark_submitted(admin, world, backdate=False)
    assert response.status_code == 400
    assert "must be after the bid was signed off" in html.unescape(response.get_data(as_text=True))
    with app.app_context():
        assert _round(world).status == RoundStatus.SIGNED_OFF


def test_outcome_recorded_then_archived_and_csps_are_told(app, world, signed_in):
    make_ready(app, world)
    admin = signed_in("lead_admin")
    _sign_off(admin, world)
    _mark_submitted(admin, world)  # 28 September 2018
    url = f"/rounds/{world.round_a}/outcome"
    bad = [
        ({"decided_on": ["1", "1", "2018"], "outcome": "awarded", "awarded": "822000"},
         "must be on or after the day the bid was submitted"),
        ({"decided_on": ["1", "1", str(date.today().year + 2)], "outcome": "awarded", "awarded": "822000"},
         "must be today or in the past"),
        ({"decided_on": ["14", "1", "2019"], "outcome": "awarded", "awarded": ""}, "Enter the amount awarded"),
        ({"decided_on": ["14", "1", "2019"]}, "Select whether the bid was awarded funding"),
    ]
    for data, message in bad:
        response = post_form(admin, url, data)
        assert response.status_code == 400, data
        assert message in html.unescape(response.get_data(as_text=True)), data
    response = post_form(admin, url, {"decided_on": ["14", "1", "2019"], "outcome": "awarded", "awarded": "822,000"})
    assert response.status_code == 302
    with app.app_context():
        rnd = _round(world)
        assert rnd.status == RoundStatus.OUTCOME and rnd.outcome == BidOutcome.AWARDED
        assert rnd.awarded_pence == 822_000_00
        templates = [e.template for e in db.session.scalars(select(OutboxEmail))]
        assert "bid_with_funder_csp" in templates and "outcome_csp" in templates
    page = _page(admin, f"/rounds/{world.round_a}")
    assert "Outcome recorded" in page and "awarded £822,000.00" in page
    csp_home = _page(signed_in("csp_manager"), "/home")
    assert "Outcome recorded" in csp_home and "awarded £822,000.00" in csp_home
    assert post_form(admin, f"/rounds/{world.round_a}/archive", page=f"/rounds/{world.round_a}").status_code == 302
    with app.app_context():
        assert _round(world).status == RoundStatus.ARCHIVED
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "round.archived")) is not None


def test_close_and_reopen_contributions(app, world, signed_in):
    admin = signed_in("lead_admin")
    base = f"/rounds/{world.round_a}"
    assert "Close the round for contributions" in _page(admin, base)
    assert post_form(admin, f"{base}/close").status_code == 302
    with app.app_context():
        assert _round(world).status == RoundStatus.CLOSED
        # Each CSP's people: A1's manager and contributor, A2's manager.
        assert db.session.scalar(select(func.count()).select_from(OutboxEmail)
                                 .where(OutboxEmail.template == "round_closed")) == 3
    manager = signed_in("csp_manager")
    response = manager.get(f"/contributions/{world.contribution_a1}/budget/lines/new")
    assert response.status_code == 302
    assert "This round is closed" in _page(manager, response.headers["Location"])
    response = post_form(admin, f"{base}/reopen-contributions", {"reason": ""})
    assert response.status_code == 400 and "Enter why contributions are being reopened" in response.get_data(True)
    assert post_form(admin, f"{base}/reopen-contributions", {"reason": "One more week"}).status_code == 302
    with app.app_context():
        assert _round(world).status == RoundStatus.OPEN


# --- GET never writes -------------------------------------------------------------------------------

def _fingerprint(app) -> dict:
    with app.app_context():
        return {table.name: db.session.scalar(select(func.count()).select_from(table))
                for table in db.metadata.sorted_tables}


def test_get_pages_of_a_new_round_write_nothing(app, world, signed_in):
    """The collective bid and the reminder schedule are made with the round, not by a first visit."""
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CollectiveBid)) == 2
        assert db.session.scalar(select(func.count()).select_from(ReminderSchedule)) == 2
        section_id = _round(world).sections[0].id
    admin = signed_in("lead_admin")
    before = _fingerprint(app)
    for url in [f"/bid/rounds/{world.round_a}", f"/bid/rounds/{world.round_a}/sections/{section_id}",
                f"/rounds/{world.round_a}/reminders", f"/bid/rounds/{world.round_a}/budget",
                f"/bid/rounds/{world.round_a}/readiness", f"/rounds/{world.round_a}/exports",
                f"/review/rounds/{world.round_a}", f"/rounds/{world.round_a}/deadlines"]:
        assert admin.get(url).status_code == 200, url
    after = _fingerprint(app)
    after.pop("user_session", None), before.pop("user_session", None)  # the session's last-seen time
    assert after == before
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Reminder)) == 0


def test_round_transitions_are_audited_and_refused_twice(app, world):
    with app.app_context():
        admin = _user(world, "lead_admin")
        rnd = _round(world)
        rounds.close_round(admin, rnd)
        db.session.commit()
        with pytest.raises(ServiceError):
            rounds.close_round(admin, rnd)
        rounds.reopen_contributions(admin, rnd, "A CSP asked for more time")
        db.session.commit()
        actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
        assert "round.closed" in actions and "round.contributions_reopened" in actions
        with pytest.raises(ServiceError):
            signoff.record_outcome(admin, rnd, BidOutcome.NOT_AWARDED, None, date(2019, 1, 1))
        assert rnd.status == RoundStatus.OPEN


def test_countdowns_stop_when_there_is_nothing_left_to_do(app, world):
    with app.app_context():
        rnd = _round(world)
        assert lifecycle.countdown_to_internal(rnd) and lifecycle.countdown_to_funder(rnd)
        rnd.status = RoundStatus.CLOSED
        assert not lifecycle.countdown_to_internal(rnd) and lifecycle.countdown_to_funder(rnd)
        rnd.status = RoundStatus.SUBMITTED
        assert not lifecycle.countdown_to_internal(rnd) and not lifecycle.countdown_to_funder(rnd)
        db.session.rollback()



def test_an_administrator_cannot_deactivate_their_own_account(app, world, signed_in):
    admin = signed_in("lead_admin")
    response = admin.get(f"/admin/users/{world.users['lead_admin']}/deactivate")
    assert response.status_code == 403
    assert "You cannot deactivate your own account" in html.unescape(response.get_data(as_text=True))
    with app.app_context():
        from app.services import accounts

        me = _user(world, "lead_admin")
        with pytest.raises(ServiceError, match="your own account"):
            accounts.deactivate_user(me, me)
        assert me.active
