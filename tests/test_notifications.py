"""Who hears of what: every event that matters to someone is a notification (What's new) for the
right people, and never for the person who did it, another CSP's people, another lead bidder's
people, or (for lead-only events) any CSP. A repeated event notifies nobody twice, and the emails
that go with the events still reach the mail server through the outbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    BidOutcome,
    Contribution,
    DeadlineKind,
    Notification,
    NotificationKind,
    OutboxEmail,
    Round,
    User,
)
from app.services import deadlines, review, rounds, signoff
from app.services.notifications import Email, assigned, notify
from app.services.outbox import deliver_due
from tests.conftest import post_form
from tests.test_signoff import make_ready
from tests.test_submit import complete_everything

CSP_A1 = {"csp_manager", "csp_contributor"}
LEAD_A_EDITORS = {"lead_admin", "lead_staff"}


def notified(app, world, kind: NotificationKind) -> dict[str, list[Notification]]:
    """The world's people who have a notification of this kind: {who: their rows}."""
    names = {user_id: who for who, user_id in world.users.items()}
    with app.app_context():
        rows = db.session.scalars(select(Notification).where(Notification.kind == kind.value)).all()
        got: dict[str, list[Notification]] = {}
        for row in rows:
            db.session.expunge(row)
            got.setdefault(names.get(row.user_id, f"user {row.user_id}"), []).append(row)
        return got


def who(app, world, kind: NotificationKind) -> set[str]:
    got = notified(app, world, kind)
    assert all(len(rows) == 1 for rows in got.values()), f"someone was notified twice: {got}"
    return set(got)


def user(who_: str, world) -> User:
    return db.session.get(User, world.users[who_])


def a1(world) -> Contribution:
    return db.session.get(Contribution, world.contribution_a1)


def emails_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OutboxEmail))


# --- rounds --------------------------------------------------------------------------------------


def test_opening_a_round_tells_each_csps_people_and_no_one_at_the_lead(app, world):
    assert who(app, world, NotificationKind.ROUND_OPENED) == {
        "csp_manager", "csp_contributor", "other_csp_manager", "other_lead_csp_manager", "other_lead_csp_contributor"
    }
    [row] = notified(app, world, NotificationKind.ROUND_OPENED)["csp_contributor"]
    assert row.contribution_id == world.contribution_a1 and row.round_id == world.round_a
    assert row.actor_id == world.users["lead_admin"] and row.link == f"/contributions/{world.contribution_a1}"
    assert "asks for Reading Community Safety Partnership's contribution" in row.summary


def test_closing_and_reopening_contributions_tell_the_csps_that_can_still_edit(app, world):
    with app.app_context(), app.test_request_context():
        rnd = db.session.get(Round, world.round_a)
        rounds.close_round(user("lead_admin", world), rnd)
        db.session.commit()
    assert who(app, world, NotificationKind.ROUND_CLOSED) == {"csp_manager", "csp_contributor", "other_csp_manager"}


# --- comments ------------------------------------------------------------------------------------


def comment(client, world, body: str):
    url = f"/review/contributions/{world.contribution_a1}/comments"
    response = post_form(client, url, {"section": "", "body": body})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]


def test_a_lead_comment_tells_the_csps_people_only(app, world, signed_in):
    comment(signed_in("lead_staff"), world, "Please add the 2017 knife crime figures.")
    got = notified(app, world, NotificationKind.COMMENT)
    assert set(got) == CSP_A1  # not the author, nor the other CSP, nor lead bidder B
    [row] = got["csp_contributor"]
    assert " (Thames Valley OPCC) commented on Reading Community Safety Partnership's contribution: " in row.summary
    assert "Please add the 2017 knife crime figures." in row.summary
    assert row.link.startswith(f"/review/contributions/{world.contribution_a1}/comments#comment-")


def test_a_csp_comment_tells_the_lead_reviewers_and_the_csps_other_people(app, world, signed_in):
    # Nobody at the lead bidder has reviewed it yet: every administrator and member of staff hears.
    comment(signed_in("csp_manager"), world, "Can we include county lines work?")
    assert who(app, world, NotificationKind.COMMENT) == LEAD_A_EDITORS | {"csp_contributor"}
    # Once a member of staff has commented, a CSP's comment goes to the reviewers who took part.
    comment(signed_in("lead_staff"), world, "Yes, in section 3.")
    comment(signed_in("csp_contributor"), world, "Thank you, added.")
    got = notified(app, world, NotificationKind.COMMENT)
    assert {w: len(rows) for w, rows in got.items()} == {
        "lead_admin": 1,  # the first question only
        "lead_staff": 2,  # the first question and the reply to them
        "csp_contributor": 2,  # the manager's question and the staff's answer
        "csp_manager": 2,  # the staff's answer and the contributor's reply
    }
    for absent in ("viewer", "other_csp_manager", "other_lead_admin", "other_lead_staff"):
        assert absent not in got


# --- decisions -----------------------------------------------------------------------------------


def submitted(app, world):
    complete_everything(app, world.contribution_a1)
    with app.app_context(), app.test_request_context():
        from app.services.contributions import submit

        submit(user("csp_manager", world), a1(world))
        db.session.commit()


def test_submitting_tells_the_lead_editors_and_the_csps_other_people(app, world):
    before = emails_count(app)
    submitted(app, world)
    # The viewer reads but does not review; the manager who submitted gets a receipt by email only.
    assert who(app, world, NotificationKind.SUBMITTED) == LEAD_A_EDITORS | {"csp_contributor"}
    rows = notified(app, world, NotificationKind.SUBMITTED)
    assert rows["lead_staff"][0].link == f"/review/contributions/{world.contribution_a1}"
    assert rows["csp_contributor"][0].link == f"/contributions/{world.contribution_a1}"
    with app.app_context():
        to = sorted(db.session.scalars(select(OutboxEmail.to_address)
                                       .order_by(OutboxEmail.id).offset(before)))
    assert to == sorted(world.emails[w] for w in ("lead_admin", "lead_staff", "csp_contributor", "csp_manager"))


def test_resubmitting_is_its_own_kind(app, world):
    submitted(app, world)
    with app.app_context(), app.test_request_context():
        review.request_changes(user("lead_staff", world), a1(world), ["budget"], "Split the budget by year")
        db.session.commit()
        from app.services.contributions import submit

        submit(user("csp_manager", world), a1(world))
        db.session.commit()
    assert who(app, world, NotificationKind.RESUBMITTED) == LEAD_A_EDITORS | {"csp_contributor"}


@pytest.mark.parametrize(
    ("decide", "kind"),
    [
        (lambda actor, c: review.request_changes(actor, c, ["budget"], "Split it by year"),
         NotificationKind.CHANGES_REQUESTED),
        (lambda actor, c: review.accept(actor, c), NotificationKind.ACCEPTED),
        (lambda actor, c: review.exclude(actor, c, "Outside the area"), NotificationKind.EXCLUDED),
    ],
    ids=["changes requested", "accepted", "excluded"],
)
def test_decisions_tell_the_csps_people_and_nobody_else(app, world, decide, kind):
    submitted(app, world)
    with app.app_context(), app.test_request_context():
        decide(user("lead_staff", world), a1(world))
        db.session.commit()
    assert who(app, world, kind) == CSP_A1
    [row] = notified(app, world, kind)["csp_manager"]
    assert row.actor_id == world.users["lead_staff"] and row.contribution_id == world.contribution_a1


def test_including_again_tells_the_csps_people(app, world):
    submitted(app, world)
    with app.app_context(), app.test_request_context():
        review.exclude(user("lead_staff", world), a1(world), "Outside the area")
        review.include_again(user("lead_admin", world), a1(world))
        db.session.commit()
    assert who(app, world, NotificationKind.INCLUDED) == CSP_A1


def test_a_repeated_event_notifies_and_emails_nobody_twice(app, world):
    submitted(app, world)
    with app.app_context(), app.test_request_context():
        staff, contribution = user("lead_staff", world), a1(world)
        review.accept(staff, contribution)
        db.session.commit()
        rows, emails = db.session.scalar(select(func.count()).select_from(Notification)), emails_count(app)
        # The same event again (a retried request, a re-run job): the same event key.
        review._notify_decision(staff, contribution, NotificationKind.ACCEPTED, "review_accepted", "Accepted")
        again = notify(NotificationKind.ACCEPTED, [user("csp_manager", world)], summary="Accepted", link="/",
                       event_key=f"review_accepted:{contribution.id}:{contribution.version}",
                       lead_bidder_id=contribution.lead_bidder_id, actor=staff,
                       email=Email("review_accepted", {}))
        db.session.commit()
        assert again == []
        assert db.session.scalar(select(func.count()).select_from(Notification)) == rows
    assert emails_count(app) == emails
    assert who(app, world, NotificationKind.ACCEPTED) == CSP_A1


# --- deadlines -----------------------------------------------------------------------------------


def test_a_round_deadline_change_tells_everyone_in_the_round(app, world):
    with app.app_context(), app.test_request_context():
        rnd = db.session.get(Round, world.round_a)
        deadlines.change_deadline(user("lead_admin", world), rnd, DeadlineKind.INTERNAL,
                                  rnd.internal_deadline + timedelta(days=2), "The Home Office moved its date")
        db.session.commit()
    got = notified(app, world, NotificationKind.DEADLINE_CHANGED)
    # The lead team (not the administrator who changed it) and every CSP taking part; not lead B's.
    assert set(got) == {"lead_staff", "viewer", "csp_manager", "csp_contributor", "other_csp_manager"}
    assert got["viewer"][0].link == f"/rounds/{world.round_a}/deadlines"
    assert got["csp_contributor"][0].link == f"/contributions/{world.contribution_a1}"
    assert "internal deadline is now" in got["csp_manager"][0].summary


def test_an_extension_tells_that_csps_people_only(app, world):
    with app.app_context(), app.test_request_context():
        rnd = db.session.get(Round, world.round_a)
        rounds.grant_extension(user("lead_admin", world), a1(world), rnd.internal_deadline + timedelta(days=3),
                               "Agreed by phone")
        db.session.commit()
    assert who(app, world, NotificationKind.EXTENSION_GRANTED) == CSP_A1


# --- the bid -------------------------------------------------------------------------------------


def test_the_bids_end_tells_the_lead_team_and_the_csps_in_it(app, world, signed_in):
    make_ready(app, world)
    admin = signed_in("lead_admin")
    base = f"/bid/rounds/{world.round_a}"
    assert post_form(admin, f"{base}/sign-off", {"declaration": "I confirm."}).status_code == 302
    # Lead-only: the administrators and staff (not the one who signed), never a CSP.
    assert who(app, world, NotificationKind.BID_SIGNED_OFF) == {"lead_staff"}
    with app.app_context(), app.test_request_context():
        from app.models.base import utcnow
        from app.models.bid import CollectiveBid

        bid = db.session.scalar(select(CollectiveBid).where(CollectiveBid.round_id == world.round_a))
        signoff.mark_submitted(user("lead_admin", world), bid, utcnow(), "HO-42")
        db.session.commit()
        signoff.record_outcome(user("lead_admin", world), db.session.get(Round, world.round_a),
                               BidOutcome.NOT_AWARDED, None, utcnow().date())
        db.session.commit()
    # Both contributions of round A were accepted (make_ready), so both CSPs hear.
    in_bid = CSP_A1 | {"other_csp_manager"}
    assert who(app, world, NotificationKind.BID_SUBMITTED) == {"lead_staff"} | in_bid
    assert who(app, world, NotificationKind.OUTCOME) == {"lead_staff"} | in_bid


def test_reopening_the_bid_is_for_the_lead_team_only(app, world, signed_in):
    make_ready(app, world)
    admin = signed_in("lead_admin")
    base = f"/bid/rounds/{world.round_a}"
    assert post_form(admin, f"{base}/sign-off", {"declaration": "I confirm."}).status_code == 302
    assert post_form(admin, f"{base}/reopen", {"reason": "The budget was wrong"}).status_code == 302
    assert who(app, world, NotificationKind.BID_REOPENED) == {"lead_staff"}


# --- assignment ----------------------------------------------------------------------------------


def test_assigned_tells_the_assignee_only(app, world):
    with app.app_context(), app.test_request_context():
        contribution = a1(world)
        rows = assigned(user("csp_manager", world), user("csp_contributor", world),
                        "section 2. Local need and evidence", f"/contributions/{contribution.id}",
                        contribution.lead_bidder_id, contribution=contribution, event_key="assigned:1")
        # Assigning to yourself is not news.
        assert assigned(user("csp_manager", world), user("csp_manager", world), "the budget", "/",
                        contribution.lead_bidder_id, event_key="assigned:2") == []
        db.session.commit()
        assert [r.user_id for r in rows] == [world.users["csp_contributor"]]
        manager = user("csp_manager", world).full_name
    [row] = notified(app, world, NotificationKind.ASSIGNED)["csp_contributor"]
    assert row.summary == f"{manager} assigned section 2. Local need and evidence to you"
    assert row.round_id == world.round_a and row.kind_label == "Assigned to you"


# --- the emails still go, through the outbox, to the mail server ---------------------------------


def test_events_emails_reach_the_mail_server(app, world, smtp_server):
    submitted(app, world)
    with app.app_context(), app.test_request_context():
        review.accept(user("lead_staff", world), a1(world))
        rnd = db.session.get(Round, world.round_a)
        deadlines.change_deadline(user("lead_admin", world), rnd, DeadlineKind.FUNDER,
                                  rnd.funder_deadline + timedelta(days=7), "A week more")
        db.session.commit()
        report = deliver_due()
        assert not report.errors
    accepted = [m for m in smtp_server.to(world.emails["csp_contributor"]) if "accepted" in m.subject]
    assert len(accepted) == 1 and "has accepted Reading Community Safety Partnership's contribution" in (
        accepted[0].text
    )
    moved = [m for m in smtp_server.to(world.emails["viewer"]) if "deadline has changed" in m.subject]
    assert len(moved) == 1 and "Reason: A week more" in moved[0].text
    # The administrator who moved it gets their receipt; lead bidder B hears nothing.
    assert [m for m in smtp_server.to(world.emails["lead_admin"]) if "deadline has changed" in m.subject]
    assert not smtp_server.to(world.emails["other_lead_admin"])
    assert not smtp_server.to(world.emails["other_lead_csp_manager"])
