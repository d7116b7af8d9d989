"""Reminders (issue 6): who gets them, once, at 9am UK time across clock changes, catching up
after downtime without a flood, following moved deadlines, and through a mail server that is down.
Emails go through the outbox to a real SMTP server on loopback."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select

from app.dates import london_to_utc
from app.extensions import db
from app.models import AuditEvent, Contribution, ContributionStatus, OutboxEmail, OutboxStatus, Round, RoundStatus, User
from app.models.base import utcnow
from app.models.deadline import Reminder, ReminderKind
from app.services import ServiceError
from app.services import reminders as service
from app.services.outbox import backoff, deliver_due
from tests.conftest import empty_tables, post_form
from tests.test_statement_counts import counting

NOON_1_APRIL = london_to_utc(date(2026, 4, 1), time(12))  # 11:00 UTC (BST)
NOON_29_APRIL = london_to_utc(date(2026, 4, 29), time(12))


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def set_round(app, world, internal=NOON_1_APRIL, funder=NOON_29_APRIL, opened=utc(2026, 2, 1), **schedule):
    """Round A's deadlines (set directly) and its schedule; round A opened on `opened`."""
    with app.app_context():
        rnd = db.session.get(Round, world.round_a)
        rnd.internal_deadline, rnd.funder_deadline, rnd.opened_at = internal, funder, opened
        sched = service.schedule_for(rnd)
        for name, value in schedule.items():
            setattr(sched, name, value)
        db.session.commit()


def set_status(app, contribution_id, status):
    with app.app_context():
        db.session.get(Contribution, contribution_id).status = status
        db.session.commit()


def run(app, now):
    with app.app_context():
        return service.run(now=now)


def deliver(app):
    with app.app_context():
        return deliver_due()


def reminders(app, **where):
    with app.app_context():
        query = select(Reminder).order_by(Reminder.id)
        for name, value in where.items():
            query = query.where(getattr(Reminder, name) == value)
        return [
            (r.user.email, r.kind, r.days, r.slot_at, r.deadline_at, r.cancelled_reason, r.outbox_email_id)
            for r in db.session.scalars(query)
        ]


ONLY_CSP = {"lead_digest": False, "funder_days_before": [], "funder_on_the_day": False}


def seven_days_ahead(today: date, earliest: int = 3) -> date:
    """For tests dated from the real today: the first day from `earliest` days ahead that is a
    working day 7 days before a working day (a deadline whose 7-day reminder is not moved)."""
    from app.workdays import is_working_day

    day = today + timedelta(days=earliest)
    while not (is_working_day(day) and is_working_day(day + timedelta(days=7))):
        day += timedelta(days=1)
    return day


# --- who gets what ------------------------------------------------------------------------------


def test_reminders_go_to_the_csp_users_of_unsubmitted_contributions_and_lead_staff(app, world, smtp_server):
    set_round(app, world)
    set_status(app, world.contribution_a2, ContributionStatus.SUBMITTED)
    # 9:05am on 25 March 2026 (GMT): 7 days before the internal deadline, and a digest day.
    report = run(app, utc(2026, 3, 25, 9, 5))
    assert str(report) == "4 reminders written, 0 skipped"
    assert deliver(app).sent == 4
    by_address = {m.to: m for m in smtp_server.messages}
    assert sorted(by_address) == sorted(
        [world.emails[k] for k in ("csp_manager", "csp_contributor", "lead_admin", "lead_staff")]
    )
    # Not the CSP that submitted, not viewers, not the other lead bidder's people.
    for nobody in ("other_csp_manager", "viewer", "other_lead_admin", "other_lead_csp_manager"):
        assert smtp_server.to(world.emails[nobody]) == []
    manager = by_address[world.emails["csp_manager"]]
    assert manager.subject == (
        "Early Intervention Youth Fund 2018: Reading Community Safety Partnership's contribution is due in 7 days"
    )
    assert "must be submitted by 12pm on Wednesday 1 April 2026. 7 days left." in manager.text
    digest = by_address[world.emails["lead_admin"]]
    assert "daily summary" in digest.subject
    assert "Submitted: 1" in digest.text and "Not started: 1" in digest.text
    assert f"/review/rounds/{world.round_a}" in digest.text
    assert "Internal deadline for contributions: 12pm on Wednesday 1 April 2026 (7 days left)" in digest.text
    # Good Friday (3 April 2026) is a bank holiday: no summary that day, nor on Easter Monday.
    run(app, utc(2026, 4, 3, 8, 5))
    deliver(app)
    assert len(smtp_server.to(world.emails["lead_staff"])) == 1
    run(app, utc(2026, 4, 7, 8, 5))  # the internal deadline has gone: the summary carries on
    deliver(app)
    later = smtp_server.to(world.emails["lead_staff"])[-1]
    assert "1 April 2026 (passed 6 days ago)" in later.text
    overdue = "Overdue:\n- Reading Community Safety Partnership (Not started): 6 days overdue"
    assert overdue in later.text.replace("\r", "")


def test_accepted_and_excluded_contributions_are_not_reminded_but_changes_requested_are(app, world, smtp_server):
    set_round(app, world, **ONLY_CSP)
    set_status(app, world.contribution_a1, ContributionStatus.ACCEPTED)
    set_status(app, world.contribution_a2, ContributionStatus.EXCLUDED)
    assert run(app, utc(2026, 3, 25, 9, 5)).written == 0
    set_status(app, world.contribution_a2, ContributionStatus.CHANGES_REQUESTED)
    assert run(app, utc(2026, 3, 27, 9, 5)).written == 1  # Friday: the 3-day reminder's Sunday is not a working day
    deliver(app)
    assert [m.to for m in smtp_server.messages] == [world.emails["other_csp_manager"]]


def test_email_says_what_is_missing_and_links_to_the_task_list(app, world, smtp_server):
    from app.models.review import ChangeRequest

    set_round(app, world, **ONLY_CSP)
    with app.app_context():
        c = db.session.get(Contribution, world.contribution_a1)
        c.status = ContributionStatus.CHANGES_REQUESTED
        c.budget_completed = True
        db.session.add(
            ChangeRequest(
                contribution_id=c.id, items=["budget"], message="Please add the match funding from the council.",
                created_by_id=world.users["lead_staff"],
            )
        )
        sections = [f"{s.number}. {s.title}" for s in c.round.sections if s.csp_contributes and s.required]
        db.session.commit()
    run(app, utc(2026, 3, 31, 8, 5))  # 9:05am BST, the day before
    deliver(app)
    [message] = smtp_server.to(world.emails["csp_manager"])
    assert message.subject.endswith("is due in 1 day")
    assert "Still to do:" in message.text
    for title in sections:
        assert f"- {title}" in message.text
    assert "- Outcomes" in message.text and "- Budget" not in message.text  # the budget is marked complete
    assert "Please add the match funding from the council." in message.text
    assert f"http://localhost/contributions/{world.contribution_a1}" in message.text
    assert f'href="http://localhost/contributions/{world.contribution_a1}"' in message.html


def test_funder_deadline_reminders_stop_once_the_bid_is_submitted(app, world, smtp_server):

    set_round(app, world, lead_digest=False, csp_days_before=[], csp_on_the_day=False, csp_overdue_daily=False)
    run(app, utc(2026, 4, 22, 8, 5))  # 9:05am BST, 7 days before the funder's deadline
    deliver(app)
    assert sorted(m.to for m in smtp_server.messages) == sorted([world.emails[k] for k in ("lead_admin", "lead_staff")])
    assert smtp_server.messages[0].subject.endswith("the funder's deadline is in 7 days")
    with app.app_context():
        db.session.get(Round, world.round_a).status = RoundStatus.SUBMITTED
        db.session.commit()
    assert run(app, utc(2026, 4, 29, 8, 5)).written == 0  # on the day, but the bid has gone


def test_disabled_schedules_and_rounds_that_are_not_open_send_nothing(app, world, smtp_server):
    from app.models import RoundStatus

    set_round(app, world, enabled=False)
    assert run(app, utc(2026, 3, 25, 9, 5)).written == 0
    set_round(app, world, enabled=True)
    with app.app_context():
        db.session.get(Round, world.round_a).status = RoundStatus.CLOSED
        db.session.commit()
    assert run(app, utc(2026, 3, 25, 9, 5)).written == 0
    assert reminders(app) == []


# --- once, however many schedulers ---------------------------------------------------------------


def test_running_twice_sends_once(app, world, smtp_server):
    set_round(app, world)
    now = utc(2026, 3, 25, 9, 5)
    assert run(app, now).written == 5
    assert run(app, now).written == 0
    assert run(app, now + timedelta(minutes=1)).written == 0
    deliver(app)
    deliver(app)
    assert len(smtp_server.messages) == 5


def test_two_schedulers_at_the_same_instant_write_each_reminder_once(make_app, app, world, smtp_server):
    set_round(app, world)
    other = make_app()  # a second process: its own engine and connections
    now = utc(2026, 3, 25, 9, 5)
    reports = []
    barrier = threading.Barrier(2)

    def scheduler(application):
        with application.app_context():
            barrier.wait()
            reports.append(service.run(now=now))
            db.session.remove()

    threads = [threading.Thread(target=scheduler, args=(a,)) for a in (app, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.errors for r in reports] == [[], []]
    assert sum(r.written for r in reports) == 5
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Reminder)) == 5
        assert db.session.scalar(
            select(func.count()).select_from(OutboxEmail).where(OutboxEmail.status == OutboxStatus.PENDING)
        ) == 5
    deliver(app)
    assert len(smtp_server.messages) == 5


# --- catching up --------------------------------------------------------------------------------


def test_after_three_days_of_downtime_only_the_latest_reminder_is_sent(app, world, smtp_server):
    set_round(app, world, **ONLY_CSP)
    set_status(app, world.contribution_a2, ContributionStatus.SUBMITTED)
    run(app, utc(2026, 4, 2, 8, 5))  # 9:05am on 2 April: 1 day overdue
    # The scheduler is down from then until 10am on 9 April. Over Easter (Good Friday to Easter
    # Monday) no reminder is due; the 2nd to 4th overdue reminders were due on 7, 8 and 9 April.
    assert run(app, utc(2026, 4, 9, 9, 0)).written == 2  # manager and contributor, once each
    rows = reminders(app, user_id=world.users["csp_manager"])
    assert [(kind, days) for _, kind, days, *_ in rows] == [
        (ReminderKind.CSP_OVERDUE, 1), (ReminderKind.CSP_OVERDUE, 4)
    ]
    deliver(app)
    manager = smtp_server.to(world.emails["csp_manager"])
    assert [m.subject.endswith("is overdue") for m in manager] == [True, True]
    assert "8 days overdue" in manager[1].text


def test_a_reminder_missed_by_more_than_the_catch_up_window_is_recorded_as_skipped(app, world, smtp_server):
    set_round(app, world, **ONLY_CSP)
    set_status(app, world.contribution_a2, ContributionStatus.SUBMITTED)
    # Down from before the first overdue reminder until 11pm on Saturday 11 April: the last one
    # (the 5th, on the 5th working day after 1 April: 9am on Friday 10 April) is 38 hours old.
    report = run(app, utc(2026, 4, 11, 22, 0))
    assert (report.written, report.skipped) == (0, 2)
    [(email, kind, days, slot_at, _, reason, outbox_id)] = reminders(app, user_id=world.users["csp_manager"])
    assert (kind, days, slot_at, outbox_id) == (ReminderKind.CSP_OVERDUE, 5, utc(2026, 4, 10, 8, 0), None)
    assert reason.startswith("Not sent: it was due at 9am on Friday 10 April 2026")
    assert run(app, utc(2026, 4, 11, 22, 1)).skipped == 0
    deliver(app)
    assert smtp_server.messages == []


def test_slots_before_the_round_opened_are_ignored(app, world, smtp_server):
    set_round(app, world, opened=utc(2026, 3, 30, 15, 0), **ONLY_CSP)
    assert str(run(app, utc(2026, 3, 30, 16, 0))) == "0 reminders written, 0 skipped"
    assert run(app, utc(2026, 3, 31, 8, 0)).written == 3  # the 1-day reminders, at 9am BST


# --- moved deadlines ----------------------------------------------------------------------------


def test_an_extension_cancels_pending_reminders_and_new_ones_follow_the_new_date(app, world, smtp_server):
    from app.services.rounds import grant_extension

    set_round(app, world, **ONLY_CSP)
    run(app, utc(2026, 3, 25, 9, 5))  # the 7-day reminders, not delivered yet
    new_deadline = london_to_utc(date(2026, 4, 8), time(12))
    with app.app_context():
        admin = db.session.get(User, world.users["lead_admin"])
        a1 = db.session.get(Contribution, world.contribution_a1)
        grant_extension(admin, a1, new_deadline, "Their analyst is off sick")
        service.deadline_moved(admin, a1.round)  # (grant_extension may have called it already)
        db.session.commit()
        assert service.deadline_moved(admin, a1.round) == 0  # nothing left to cancel
    cancelled = reminders(app, contribution_id=world.contribution_a1)
    assert {reason for *_, reason, _ in cancelled} == {"The deadline it was about has changed"}
    deliver(app)
    # A1's extension email (to its manager and contributor), and A2's reminder, which is still
    # about the internal deadline.
    assert sorted(m.to for m in smtp_server.messages) == sorted(
        [world.emails["csp_manager"], world.emails["csp_contributor"], world.emails["other_csp_manager"]]
    )
    assert "extended" in smtp_server.to(world.emails["csp_manager"])[0].subject
    smtp_server.clear()

    # On 1 April A2 is due today; A1 is 7 days from its new deadline.
    run(app, utc(2026, 4, 1, 8, 5))
    rows = reminders(app, user_id=world.users["csp_manager"])
    assert rows[-1][1:5] == (ReminderKind.CSP_BEFORE, 7, utc(2026, 4, 1, 8, 0), new_deadline)
    deliver(app)
    [a1_mail] = smtp_server.to(world.emails["csp_manager"])
    assert "must be submitted by 12pm on Wednesday 8 April 2026" in a1_mail.text
    [a2_mail] = smtp_server.to(world.emails["other_csp_manager"])
    assert a2_mail.subject.endswith("is due today at 12pm")


def test_moving_the_internal_deadline_cancels_what_is_pending_and_old_dates_never_come_back(app, world, smtp_server):
    set_round(app, world, **ONLY_CSP)
    run(app, utc(2026, 3, 25, 9, 5))
    with app.app_context():
        rnd = db.session.get(Round, world.round_a)
        rnd.internal_deadline = london_to_utc(date(2026, 4, 15), time(12))
        assert service.deadline_moved(None, rnd) == 3
        db.session.commit()
        assert db.session.scalar(
            select(func.count()).select_from(OutboxEmail).where(OutboxEmail.status == OutboxStatus.PENDING)
        ) == 0
    # 31 March would have been the 1-day reminder for 1 April: nothing now. 8 April is 7 days before.
    assert run(app, utc(2026, 3, 31, 8, 5)).written == 0
    assert run(app, utc(2026, 4, 8, 8, 5)).written == 3
    deliver(app)
    assert len(smtp_server.messages) == 3
    assert all("15 April 2026" in m.text for m in smtp_server.messages)
    # Already sent reminders are history, not cancelled, when the deadline moves again.
    with app.app_context():
        rnd = db.session.get(Round, world.round_a)
        rnd.internal_deadline = london_to_utc(date(2026, 4, 16), time(12))
        assert service.deadline_moved(None, rnd) == 0


# --- the mail server is down ---------------------------------------------------------------------


def test_smtp_down_keeps_reminders_pending_and_delivers_each_once_when_back(app, world, smtp_server):
    set_round(app, world, **ONLY_CSP)
    run(app, utc(2026, 3, 25, 9, 5))
    smtp_server.stop()
    try:
        report = deliver(app)
        assert (report.sent, report.retrying) == (0, 3)
        # Reminders run again meanwhile: nothing new is written.
        assert run(app, utc(2026, 3, 25, 9, 6)).written == 0
        with app.app_context():
            states = db.session.scalars(
                select(OutboxEmail.status).join(Reminder, Reminder.outbox_email_id == OutboxEmail.id)
            ).all()
            assert states == [OutboxStatus.PENDING] * 3
    finally:
        smtp_server.start()
    with app.app_context():
        assert deliver_due(now=utcnow() + backoff(1) + timedelta(seconds=1)).sent == 3
        assert deliver_due(now=utcnow() + timedelta(hours=1)).sent == 0
    assert run(app, utc(2026, 3, 25, 9, 30)).written == 0
    assert sorted(m.to for m in smtp_server.messages) == sorted(
        world.emails[k] for k in ("csp_manager", "csp_contributor", "other_csp_manager")
    )


# --- clock changes ------------------------------------------------------------------------------


def _slot_times(app, world, contribution_id) -> dict:
    with app.app_context():
        c = db.session.get(Contribution, contribution_id)
        user = db.session.get(User, world.users["csp_manager"])
        return {(s.kind, s.days): s.slot_at for s in service.csp_slots(service.schedule_for(c.round), c, [user])}


def test_9am_stays_9am_across_the_march_clock_change(app, world, smtp_server):
    set_round(app, world, **ONLY_CSP)
    slots = _slot_times(app, world, world.contribution_a1)
    assert slots[(ReminderKind.CSP_BEFORE, 7)] == utc(2026, 3, 25, 9, 0)  # GMT
    # 3 days before is Sunday 29 March, the day the clocks change: not a working day, so the
    # reminder goes on Friday 27 March (GMT), 5 days before.
    assert (ReminderKind.CSP_BEFORE, 3) not in slots
    assert slots[(ReminderKind.CSP_BEFORE, 5)] == utc(2026, 3, 27, 9, 0)
    assert slots[(ReminderKind.CSP_BEFORE, 1)] == utc(2026, 3, 31, 8, 0)  # BST
    assert slots[(ReminderKind.CSP_DUE, 0)] == utc(2026, 4, 1, 8, 0)
    run(app, utc(2026, 3, 25, 9, 5))
    assert run(app, utc(2026, 3, 27, 9, 5)).written == 3
    deliver(app)
    assert "5 days left" in smtp_server.to(world.emails["csp_manager"])[-1].text
    for hour in range(0, 24, 3):  # nothing at the weekend
        assert run(app, utc(2026, 3, 28, hour, 30)).written == 0
        assert run(app, utc(2026, 3, 29, hour, 30)).written == 0
    assert run(app, utc(2026, 3, 31, 7, 59)).written == 0  # 8:59am BST
    assert run(app, utc(2026, 3, 31, 8, 0)).written == 3  # 9am BST
    deliver(app)
    assert "1 day left" in smtp_server.to(world.emails["csp_manager"])[-1].text


def test_9am_stays_9am_across_the_october_clock_change(app, world, smtp_server):
    deadline = london_to_utc(date(2026, 10, 28), time(12))  # 12:00 UTC (GMT)
    set_round(app, world, internal=deadline, funder=deadline + timedelta(days=14), **ONLY_CSP)
    slots = _slot_times(app, world, world.contribution_a1)
    assert slots[(ReminderKind.CSP_BEFORE, 7)] == utc(2026, 10, 21, 8, 0)  # BST
    # 3 days before is Sunday 25 October, the day the clocks change: Friday 23 October instead (BST).
    assert slots[(ReminderKind.CSP_BEFORE, 5)] == utc(2026, 10, 23, 8, 0)
    assert slots[(ReminderKind.CSP_BEFORE, 1)] == utc(2026, 10, 27, 9, 0)  # GMT
    assert slots[(ReminderKind.CSP_DUE, 0)] == utc(2026, 10, 28, 9, 0)
    run(app, utc(2026, 10, 21, 8, 5))
    assert run(app, utc(2026, 10, 23, 8, 5)).written == 3
    assert run(app, utc(2026, 10, 25, 9, 0)).written == 0  # Sunday
    assert run(app, utc(2026, 10, 27, 8, 30)).written == 0  # 8:30am GMT
    assert run(app, utc(2026, 10, 27, 9, 0)).written == 3


def test_a_deadline_at_1_30am_on_25_october_2026(app, world, smtp_server):
    """Entered as UK time, 1:30am means the first 1:30 (BST), 00:30 UTC, on a Sunday. Decided: the
    1-day reminder's day is a Saturday, so it goes at 9am on the Friday, 2 days before; there is no
    'due today' reminder and no reminder at all that weekend; the first overdue one is on Monday
    26 October at 9am (GMT)."""
    deadline = london_to_utc(date(2026, 10, 25), time(1, 30))
    assert deadline == utc(2026, 10, 25, 0, 30)
    set_round(app, world, internal=deadline, funder=deadline + timedelta(days=14), **ONLY_CSP)
    slots = _slot_times(app, world, world.contribution_a1)
    assert slots[(ReminderKind.CSP_BEFORE, 2)] == utc(2026, 10, 23, 8, 0)
    assert (ReminderKind.CSP_BEFORE, 1) not in slots and (ReminderKind.CSP_DUE, 0) not in slots
    assert slots[(ReminderKind.CSP_OVERDUE, 1)] == utc(2026, 10, 26, 9, 0)

    assert run(app, utc(2026, 10, 23, 8, 5)).written == 3
    for day, hour in [(24, 8), (24, 9), (25, 0), (25, 1), (25, 2), (25, 8), (25, 9), (25, 12), (25, 23)]:
        report = run(app, utc(2026, 10, day, hour, 0))  # through the repeated hour and the weekend
        assert (report.written, report.skipped) == (0, 0), (day, hour)
    assert run(app, utc(2026, 10, 26, 9, 0)).written == 3
    deliver(app)
    first, second = smtp_server.to(world.emails["csp_manager"])
    assert "must be submitted by 1:30am" in first.text and "on Sunday 25 October 2026. 2 days left." in first.text
    assert "was due by 1:30am" in second.text and "1 day overdue" in second.text


# --- the command ----------------------------------------------------------------------------------


def test_flask_reminders_run_with_now(app, world, smtp_server):
    set_round(app, world)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["reminders", "run", "--now", "2026-03-25T09:05:00Z"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Reminders: 5 reminders written, 0 skipped"
    result = runner.invoke(args=["reminders", "run", "--now", "2026-03-25T09:05:00+00:00"])
    assert result.output.strip() == "Reminders: 0 reminders written, 0 skipped"
    result = runner.invoke(args=["reminders", "run", "--now", "next tuesday"])
    assert result.exit_code != 0 and "Give a date and time like" in result.output
    result = runner.invoke(args=["reminders", "run", "--now", "2026-03-25T09:05"])
    assert result.exit_code != 0 and "Include the offset" in result.output


# --- upcoming and send again -----------------------------------------------------------------------


def test_upcoming_lists_the_next_reminders_with_their_recipients(app, world):
    set_round(app, world, **ONLY_CSP)
    with app.app_context():
        rnd = db.session.get(Round, world.round_a)
        items = service.upcoming(rnd, utc(2026, 3, 20, 12, 0), limit=3)
        assert [(u.slot_at, u.kind, u.days) for u in items] == [
            (utc(2026, 3, 25, 9, 0), ReminderKind.CSP_BEFORE, 7),
            (utc(2026, 3, 25, 9, 0), ReminderKind.CSP_BEFORE, 7),
            (utc(2026, 3, 27, 9, 0), ReminderKind.CSP_BEFORE, 5),  # 3 days before is a Sunday
        ]
        assert sorted(u.email for u in items[0].recipients + items[1].recipients) == sorted(
            world.emails[k] for k in ("csp_manager", "csp_contributor", "other_csp_manager")
        )


def test_send_again_writes_a_new_reminder_and_email_for_administrators_only(app, world, smtp_server):
    set_round(app, world, **ONLY_CSP)
    run(app, utc(2026, 3, 25, 9, 5))
    deliver(app)
    smtp_server.clear()
    with app.app_context():
        original = db.session.scalar(select(Reminder).where(Reminder.user_id == world.users["csp_manager"]))
        staff = db.session.get(User, world.users["lead_staff"])
        admin = db.session.get(User, world.users["lead_admin"])
        try:
            service.send_again(staff, original)
            raise AssertionError("staff sent a reminder again")
        except ServiceError as exc:
            assert "administrator" in exc.message
        again = service.send_again(admin, original)
        assert again.key == original.key + ":again:1" and again.resend_of_id == original.id
        assert again.created_by_id == admin.id
        twice = service.send_again(admin, original)
        assert twice.key == original.key + ":again:2"
        assert db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "reminders.sent_again")
        ) == 2
        db.session.commit()
    deliver(app)
    assert [m.to for m in smtp_server.messages] == [world.emails["csp_manager"]] * 2


# --- the pages ------------------------------------------------------------------------------------


def test_reminders_page_shows_schedule_upcoming_and_history(app, world, signed_in, smtp_server):
    from app.dates import to_london

    day = seven_days_ahead(to_london(utcnow()).date())  # a working day, 7 days before a working day
    set_round(
        app, world, internal=london_to_utc(day + timedelta(days=7), time(12)),
        funder=london_to_utc(day + timedelta(days=17), time(12)), opened=utcnow() - timedelta(days=10),
    )
    assert run(app, london_to_utc(day, time(9, 5))).written >= 5  # the 7-day ones, digests
    deliver(app)
    client = signed_in("lead_admin")
    page = client.get(f"/rounds/{world.round_a}/reminders").get_data(as_text=True)
    assert "Reminders are sent at 9am UK time." in page
    assert "Change the schedule" in page
    assert "Coming up" in page and "Contribution due soon" in page
    assert "Daily round status" in page and "Sent" in page and "Send again" in page


def test_changing_the_schedule_with_errors_keeps_what_was_typed(app, world, signed_in):
    client = signed_in("lead_admin")
    path = f"/rounds/{world.round_a}/reminders/schedule"
    page = client.get(path).get_data(as_text=True)
    assert 'value="14, 7, 3, 1"' in page and 'value="9am"' in page
    bad = {
        "enabled": "y", "send_time": "25 o'clock", "csp_days_before": "14, 7, 7, 70", "csp_overdue_limit": "31",
        "lead_digest_days": "", "funder_days_before": "x",
    }
    response = post_form(client, path, bad)
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Enter the time like 12pm, 9:30am or 17:00" in body
    assert "Days before their deadline must be whole numbers from 1 to 60" in body
    assert "The most overdue reminders to send must be a whole number from 0 to 30" in body
    assert "Enter how many days before the internal deadline the daily summary starts" in body
    assert 'value="14, 7, 7, 70"' in body and "25 o&#39;clock" in body
    response = post_form(client, path, {**bad, "csp_days_before": "3, 3"})
    assert "must not include the same number twice (3)" in response.get_data(as_text=True)

    good = {
        "enabled": "y", "send_time": "8:30am", "csp_days_before": "10 5, 2", "csp_on_the_day": "y",
        "csp_overdue_limit": "0", "lead_digest_days": "7", "funder_days_before": "",
        "funder_on_the_day": "y",
    }
    response = post_form(client, path, good, follow_redirects=True)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "The reminder schedule has been saved" in body
    assert "Reminders are sent at 8:30am UK time." in body
    assert "reminded 10, 5 and 2 days before their deadline, on the day" in body
    assert "There is no daily summary" in body
    with app.app_context():
        sched = service.schedule_for(db.session.get(Round, world.round_a))
        assert (sched.send_time, sched.csp_days_before, sched.csp_overdue_daily) == ("08:30", [10, 5, 2], False)
        assert (sched.lead_digest, sched.lead_digest_days, sched.funder_days_before) == (False, 7, [])
        assert db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "reminders.schedule_changed")
        ) == 1


def test_send_again_button(app, world, signed_in, smtp_server):
    set_round(app, world, **ONLY_CSP)
    run(app, utc(2026, 3, 25, 9, 5))
    deliver(app)
    with app.app_context():
        reminder_id = db.session.scalar(select(Reminder.id).where(Reminder.user_id == world.users["csp_manager"]))
    client = signed_in("lead_admin")
    page = f"/rounds/{world.round_a}/reminders"
    response = post_form(client, f"{page}/{reminder_id}/send-again", page=page, follow_redirects=True)
    assert "The reminder will be sent to" in response.get_data(as_text=True)
    assert "Waiting to send" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Reminder.resend_of_id == reminder_id)) == 1


# --- SQL statements: a fixed number per run, however many CSPs and people ----------------------


def build_round(app, csps: int, users_per_csp: int) -> None:
    """A lead bidder's open round of `csps` CSPs, each with a manager and `users_per_csp` - 1
    contributors, in turn not started, in progress, sent back for changes and submitted; internal
    deadline noon on 1 April 2026, funder's deadline a week later."""
    from app.models import Role, SectionResponse
    from app.models.review import ChangeRequest
    from tests.conftest import open_round_for
    from tests.factories import CSPFactory, LeadBidderFactory, UserFactory

    states = [ContributionStatus.NOT_STARTED, ContributionStatus.IN_PROGRESS,
              ContributionStatus.CHANGES_REQUESTED, ContributionStatus.SUBMITTED]
    with app.app_context():
        lead = LeadBidderFactory()
        admin = UserFactory(role=Role.LEAD_ADMIN, organisation=lead)
        UserFactory(role=Role.LEAD_STAFF, organisation=lead)
        managers = {}
        for _ in range(csps):
            csp = CSPFactory(lead_bidder=lead)
            managers[csp.id] = UserFactory(role=Role.CSP_MANAGER, organisation=csp).id
            for _ in range(users_per_csp - 1):
                UserFactory(role=Role.CSP_CONTRIBUTOR, organisation=csp)
        rnd = open_round_for(admin, managers)
        rnd.internal_deadline, rnd.funder_deadline = NOON_1_APRIL, NOON_1_APRIL + timedelta(days=7)
        rnd.opened_at = utc(2026, 2, 1)
        section = next(s for s in rnd.sections if s.csp_contributes)
        for n, contribution in enumerate(sorted(rnd.contributions, key=lambda c: c.id)):
            contribution.status = states[n % len(states)]
            if contribution.status != ContributionStatus.NOT_STARTED:
                db.session.add(SectionResponse(contribution=contribution, section=section, text="Mentor.", version=1))
            if contribution.status == ContributionStatus.CHANGES_REQUESTED:
                db.session.add(ChangeRequest(contribution=contribution, items=["budget"], message="Split the costs.",
                                             created_by_id=admin.id))
        db.session.execute(OutboxEmail.__table__.update().values(status=OutboxStatus.CANCELLED))
        db.session.commit()


def count_run(app, now) -> tuple[int, service.Report]:
    with app.app_context(), counting() as statements:
        report = service.run(now=now)
    assert not report.errors
    return len(statements), report


def test_a_run_takes_the_same_sql_statements_for_a_small_and_a_large_round(app, smtp_server):
    # 9:05am on 25 March 2026: 7 days before the internal deadline (CSPs), a digest day, and 14
    # days before the funder's deadline: every kind of reminder is due.
    now = utc(2026, 3, 25, 9, 5)
    counts = {}
    for size, (csps, users) in {"small": (4, 1), "large": (16, 3)}.items():
        build_round(app, csps, users)
        written, report = count_run(app, now)
        again, nothing = count_run(app, now)
        counts[size] = (written, again, report.written, nothing.written)
        empty_tables(app)
    (small, small_again, small_written, _), (large, large_again, large_written, _) = counts["small"], counts["large"]
    # The users of the CSPs that have not submitted (3 in 4), and a digest and a funder's reminder
    # to each of the lead bidder's two.
    assert (small_written, large_written) == (3 * 1 + 2 * 2, 12 * 3 + 2 * 2)
    assert counts["small"][3] == counts["large"][3] == 0
    assert small == large <= 13, counts
    assert small_again == large_again <= 7, counts


def both_rounds_due(app, world) -> None:
    """Rounds A and B with the same dates: CSP reminders due at 9:05am on 25 March 2026."""
    set_round(app, world, **ONLY_CSP)
    with app.app_context():
        rnd = db.session.get(Round, world.round_b)
        rnd.internal_deadline, rnd.funder_deadline, rnd.opened_at = NOON_1_APRIL, NOON_29_APRIL, utc(2026, 2, 1)
        schedule = service.schedule_for(rnd)
        for name, value in ONLY_CSP.items():
            setattr(schedule, name, value)
        db.session.commit()


def test_a_round_whose_emails_fail_does_not_stop_the_others(app, world, smtp_server, monkeypatch):
    both_rounds_due(app, world)
    email_for = service.email_for

    def broken(rnd, *args, **kwargs):
        if rnd.id == world.round_a:
            raise RuntimeError("a broken template")
        return email_for(rnd, *args, **kwargs)

    monkeypatch.setattr(service, "email_for", broken)
    report = run(app, utc(2026, 3, 25, 9, 5))
    assert report.written == 2  # B1's manager and contributor
    assert report.errors == [f"Round {world.round_a}: RuntimeError: a broken template"]
    assert {email for email, *_ in reminders(app)} == {
        world.emails["other_lead_csp_manager"], world.emails["other_lead_csp_contributor"]
    }
    monkeypatch.undo()
    assert run(app, utc(2026, 3, 25, 9, 6)).written == 3  # round A's, on the next run


def test_when_deciding_every_round_at_once_fails_each_round_is_decided_alone(app, world, smtp_server, monkeypatch):
    both_rounds_due(app, world)
    of = service.People.of

    def broken(rounds):
        if any(rnd.id == world.round_a for rnd in rounds):
            raise RuntimeError("a broken user")
        return of(rounds)

    monkeypatch.setattr(service.People, "of", staticmethod(broken))
    report = run(app, utc(2026, 3, 25, 9, 5))
    assert report.written == 2
    assert report.errors == [f"Round {world.round_a}: RuntimeError: a broken user"]
