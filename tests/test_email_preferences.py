"""Email preferences: notification emails at once, in a daily summary (9am UK time on working
days, once per person per day) or off; CSP contributors may stop getting what their CSP's managers
get; deadline reminders are sent whatever the preference; every email ends with the link to the
preferences. Emails go through the outbox to the real SMTP server on loopback."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import func, select

from app.dates import london_to_utc
from app.extensions import db
from app.models import AuditEvent, EmailFrequency, Notification, NotificationKind, OutboxEmail, Round, User
from app.services import digests
from app.services.notifications import Email, csp_people, link_to, notify
from app.services.outbox import deliver_due
from tests.conftest import post_form

PREFERENCES = "/account/email-notifications"
PREFERENCES_URL = "http://localhost/account/email-notifications"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def uk(day: date, hour: int, minute: int = 0) -> datetime:
    return london_to_utc(day, time(hour, minute))


def set_preference(app, world, who: str, frequency: EmailFrequency, follow_csp: bool = True) -> None:
    with app.app_context():
        user = db.session.get(User, world.users[who])
        user.email_notifications = frequency
        user.follow_csp = follow_csp
        db.session.commit()


def accepted(app, world, recipients: list[str], n: int = 1) -> None:
    """An event for these people: the lead bidder accepted contribution A1 (the n-th such event)."""
    with app.app_context():
        rnd = db.session.get(Round, world.round_a)
        contribution = next(c for c in rnd.contributions if c.id == world.contribution_a1)
        staff = db.session.get(User, world.users["lead_staff"])
        notify(
            NotificationKind.ACCEPTED,
            [db.session.get(User, world.users[who]) for who in recipients],
            summary=f"{staff.organisation.name} accepted your contribution ({n})",
            link=link_to("contributions.task_list", contribution_id=contribution.id),
            event_key=f"test:accepted:{contribution.id}:{n}",
            lead_bidder_id=rnd.lead_bidder_id,
            actor=staff,
            round=rnd,
            contribution=contribution,
            email=Email("review_accepted", {
                "round": rnd, "contribution": contribution, "reviewer": staff,
                "link": f"http://localhost/contributions/{contribution.id}",
            }),
        )
        db.session.commit()


def deliver(app):
    with app.app_context():
        return deliver_due()


def send_digests(app, now):
    with app.app_context():
        return digests.send_digests(now=now)


def notifications_of(app, world, who: str) -> list[tuple]:
    """The person's notifications of this test's events (not those of building the world: the round
    opening, ...)."""
    with app.app_context():
        return [
            (n.summary, n.email_via, n.emailed_at is not None, n.digest_date)
            for n in db.session.scalars(
                select(Notification)
                .where(Notification.user_id == world.users[who], Notification.event_key.startswith("test:"))
                .order_by(Notification.id)
            )
        ]


# --- the page ---------------------------------------------------------------------------------------


def test_the_account_page_links_to_the_preferences_which_start_as_immediately(app, world, signed_in):
    client = signed_in("csp_manager")
    page = client.get("/account").get_data(as_text=True)
    assert f'href="{PREFERENCES}"' in page and "Notification emails: <strong>Immediately</strong>" in page
    page = client.get(PREFERENCES).get_data(as_text=True)
    assert "Email notifications" in page
    assert 'value="immediately" checked' in page
    assert "Reminders about your contribution’s deadlines are always sent, even if you turn notification emails off" \
        in page
    assert "follow_csp" not in page  # managers are not asked whether to follow their CSP


def test_choosing_nothing_is_an_error_and_a_choice_is_saved_with_a_banner_and_an_audit_event(app, world, signed_in):
    client = signed_in("csp_contributor")
    page = client.get(PREFERENCES).get_data(as_text=True)
    assert "Do you want to get what your CSP’s managers get?" in page and 'value="yes" checked' in page
    response = post_form(client, PREFERENCES, {})
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in body and "Select how you want to get notification emails" in body
    response = post_form(client, PREFERENCES, {"frequency": "weekly", "follow_csp": "yes"})
    assert response.status_code == 400 and "Select one of the options shown" in response.get_data(as_text=True)

    response = post_form(client, PREFERENCES, {"frequency": "daily", "follow_csp": "no"}, follow_redirects=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "Your email preferences have been saved" in body
    assert 'value="daily" checked' in body and 'value="no" checked' in body
    with app.app_context():
        user = db.session.get(User, world.users["csp_contributor"])
        assert (user.email_notifications, user.follow_csp) == (EmailFrequency.DAILY, False)
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.email_preferences_changed"))
        assert event.actor_id == user.id
        assert "daily summary" in event.summary and "does not get what their CSP's managers get" in event.summary
    # Saving the same again changes nothing and writes no event.
    response = post_form(client, PREFERENCES, {"frequency": "daily", "follow_csp": "no"}, follow_redirects=True)
    assert "Your email preferences have not changed" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "account.email_preferences_changed")
        ) == 1


def test_lead_staff_choose_off(app, world, signed_in):
    client = signed_in("lead_staff")
    response = post_form(client, PREFERENCES, {"frequency": "off", "follow_csp": "no"}, follow_redirects=True)
    assert "Your email preferences have been saved" in response.get_data(as_text=True)
    with app.app_context():
        user = db.session.get(User, world.users["lead_staff"])
        assert (user.email_notifications, user.follow_csp) == (EmailFrequency.OFF, True)  # not a contributor


# --- delivery follows the preference -----------------------------------------------------------------


def test_immediately_emails_at_once_daily_waits_and_off_sends_nothing(app, world, smtp_server):
    set_preference(app, world, "csp_contributor", EmailFrequency.DAILY)
    set_preference(app, world, "other_csp_manager", EmailFrequency.OFF)
    accepted(app, world, ["csp_manager", "csp_contributor", "other_csp_manager"])
    deliver(app)
    assert [m.to for m in smtp_server.messages] == [world.emails["csp_manager"]]
    [mail] = smtp_server.messages
    assert "has accepted your contribution" in mail.subject
    assert mail.text.rstrip().endswith(PREFERENCES_URL)
    assert f'href="{PREFERENCES_URL}"' in mail.html
    # Every one of them has the notification (What's new shows it), emailed or not.
    assert notifications_of(app, world, "csp_manager")[0][1:3] == ("now", True)
    assert notifications_of(app, world, "csp_contributor")[0][1:3] == ("digest", False)
    assert notifications_of(app, world, "other_csp_manager")[0][1:3] == ("off", False)


def test_a_contributor_who_opted_out_gets_no_csp_notifications(app, world, smtp_server):
    with app.app_context():
        assert [u.id for u in csp_people(world.csp_a1)] == [world.users["csp_manager"], world.users["csp_contributor"]]
    set_preference(app, world, "csp_contributor", EmailFrequency.IMMEDIATELY, follow_csp=False)
    with app.app_context():
        people = csp_people(world.csp_a1)
        assert [u.id for u in people] == [world.users["csp_manager"]]
        rnd = db.session.get(Round, world.round_a)
        contribution = next(c for c in rnd.contributions if c.id == world.contribution_a1)
        staff = db.session.get(User, world.users["lead_staff"])
        notify(
            NotificationKind.ACCEPTED, people, summary="Your contribution was accepted", link="/",
            event_key="test:accepted:opted-out", lead_bidder_id=rnd.lead_bidder_id, round=rnd, actor=staff,
            email=Email("review_accepted",
                        {"round": rnd, "contribution": contribution, "reviewer": staff, "link": "/"}),
        )
        db.session.commit()
    assert notifications_of(app, world, "csp_contributor") == []
    assert len(notifications_of(app, world, "csp_manager")) == 1
    deliver(app)
    assert [m.to for m in smtp_server.messages] == [world.emails["csp_manager"]]


def test_a_csp_manager_with_emails_off_still_gets_their_deadline_reminders(app, world, smtp_server):
    from tests.test_reminders import ONLY_CSP, run, set_round

    set_preference(app, world, "csp_manager", EmailFrequency.OFF)
    set_round(app, world, **ONLY_CSP)
    run(app, utc(2026, 3, 25, 9, 5))  # 7 days before the internal deadline (a Wednesday)
    deliver(app)
    [reminder] = smtp_server.to(world.emails["csp_manager"])
    assert reminder.subject.endswith("is due in 7 days")
    assert reminder.text.rstrip().endswith(PREFERENCES_URL) and f'href="{PREFERENCES_URL}"' in reminder.html


# --- the daily summary -------------------------------------------------------------------------------

# Christmas 2026: Friday 25 December and Monday 28 December (Boxing Day's substitute) are bank holidays.
THU_24_DEC = date(2026, 12, 24)
TUE_29_DEC = date(2026, 12, 29)


def test_the_daily_summary_comes_once_at_9am_on_the_next_working_day_with_everything(app, world, smtp_server):
    set_preference(app, world, "csp_manager", EmailFrequency.DAILY)
    accepted(app, world, ["csp_manager", "csp_contributor"], 1)
    deliver(app)
    assert smtp_server.to(world.emails["csp_manager"]) == []  # nothing at once
    assert len(smtp_server.to(world.emails["csp_contributor"])) == 1  # (who chose "Immediately")

    assert str(send_digests(app, uk(THU_24_DEC, 8, 59))) == "no summaries sent: it is before 9am UK time"
    report = send_digests(app, uk(THU_24_DEC, 9, 0))
    assert (report.sent, report.notifications) == (1, 1)
    deliver(app)
    [first] = smtp_server.to(world.emails["csp_manager"])
    assert first.subject == "Your daily summary from Partnership Bid: 1 update for Thursday 24 December 2026"

    # Two more on Christmas Eve afternoon: nothing more that day, nor over Christmas and the weekend.
    accepted(app, world, ["csp_manager"], 2)
    accepted(app, world, ["csp_manager"], 3)
    assert send_digests(app, uk(THU_24_DEC, 15, 0)).sent == 0
    for day in range(25, 29):
        report = send_digests(app, uk(date(2026, 12, day), 9, 30))
        assert report.sent == 0 and "is not a working day" in report.waiting
    assert send_digests(app, uk(TUE_29_DEC, 8, 59)).sent == 0
    report = send_digests(app, uk(TUE_29_DEC, 9, 1))
    assert (report.sent, report.notifications) == (1, 2)
    assert send_digests(app, uk(TUE_29_DEC, 9, 6)).sent == 0  # a run again sends nothing
    deliver(app)
    assert len(smtp_server.to(world.emails["csp_manager"])) == 2
    second = smtp_server.to(world.emails["csp_manager"])[-1]
    assert second.subject == "Your daily summary from Partnership Bid: 2 updates for Tuesday 29 December 2026"
    text = second.text.replace("\r", "")
    assert "Early Intervention Youth Fund 2018\n" in text  # grouped by round
    assert "- Accepted: Thames Valley OPCC accepted your contribution (2)" in text
    assert "- Accepted: Thames Valley OPCC accepted your contribution (3)" in text
    assert "(1)" not in text  # already in Thursday's summary
    assert f"http://localhost/contributions/{world.contribution_a1}" in text
    assert f'href="http://localhost/contributions/{world.contribution_a1}"' in second.html
    assert text.rstrip().endswith(PREFERENCES_URL) and f'href="{PREFERENCES_URL}"' in second.html
    rows = notifications_of(app, world, "csp_manager")
    assert [(via, emailed, day) for _, via, emailed, day in rows] == [
        ("digest", True, THU_24_DEC), ("digest", True, TUE_29_DEC), ("digest", True, TUE_29_DEC)
    ]
    # Nobody with nothing new gets a summary, and the contributor (immediately) gets none.
    assert len(smtp_server.to(world.emails["csp_contributor"])) == 1
    with app.app_context():
        keys = db.session.scalars(
            select(OutboxEmail.idempotency_key).where(OutboxEmail.template == "notifications_digest")
        )
        assert sorted(keys) == [
            f"digest:{world.users['csp_manager']}:20261224", f"digest:{world.users['csp_manager']}:20261229"
        ]


def test_the_command_sends_each_summary_once_however_often_it_runs(app, world, smtp_server):
    set_preference(app, world, "csp_manager", EmailFrequency.DAILY)
    set_preference(app, world, "lead_admin", EmailFrequency.DAILY)
    accepted(app, world, ["csp_manager", "lead_admin", "csp_contributor"])
    runner = app.test_cli_runner()
    now = "--now=2026-12-29T09:05:00Z"
    result = runner.invoke(args=["notifications", "send-digests", now])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Daily summaries: 2 daily summaries queued, with 2 notifications"
    result = runner.invoke(args=["notifications", "send-digests", now])
    assert result.output.strip() == "Daily summaries: 0 daily summaries queued, with 0 notifications"
    result = runner.invoke(args=["notifications", "send-digests", "--now=2026-12-28T09:05:00Z"])
    assert result.output.strip() == "Daily summaries: no summaries sent: Monday 28 December 2026 is not a working day"
    deliver(app)
    assert sorted(m.to for m in smtp_server.messages) == sorted(
        [world.emails["csp_manager"], world.emails["lead_admin"], world.emails["csp_contributor"]]
    )


def test_turning_emails_off_drops_what_waited_for_a_summary(app, world, signed_in, smtp_server):
    set_preference(app, world, "csp_manager", EmailFrequency.DAILY)
    accepted(app, world, ["csp_manager"])
    client = signed_in("csp_manager")
    post_form(client, PREFERENCES, {"frequency": "off"})
    assert send_digests(app, uk(TUE_29_DEC, 9, 5)).sent == 0
    deliver(app)
    assert smtp_server.messages == []
    assert [via for _, via, *_ in notifications_of(app, world, "csp_manager")] == ["off"]


# --- every email ends with the link to the preferences -----------------------------------------------


def test_every_kind_of_email_ends_with_the_link_to_the_email_preferences(app):
    """Each template in templates/email, rendered as the outbox renders it (with whatever context
    it lacks left empty): the text ends with the link, the HTML links to it."""
    from jinja2 import ChainableUndefined, Undefined

    from app.services.outbox import render_email

    def lenient(function):
        def wrapped(value, *args, **kwargs):
            return "" if isinstance(value, Undefined) else function(value, *args, **kwargs)

        return wrapped

    templates = sorted(p.stem for p in (Path(app.root_path) / "templates" / "email").glob("*.txt"))
    assert {"notifications_digest", "reminder_csp", "reminder_digest", "reminder_funder", "review_accepted"} <= set(
        templates
    )
    env = app.jinja_env
    saved = env.undefined, dict(env.filters)
    env.undefined = ChainableUndefined
    env.filters.update(
        {name: lenient(f) for name, f in env.filters.items() if not hasattr(f, "jinja_pass_arg")}
    )
    env.cache.clear()
    try:
        with app.app_context():
            for template in templates:
                subject, text, html = render_email(template, user=SimpleNamespace(full_name="Pat Smith"))
                assert text.rstrip().endswith(
                    "To change which emails you get and how often, go to your email preferences:\n" + PREFERENCES_URL
                ), template
                assert f'<a href="{PREFERENCES_URL}"' in html, template
    finally:
        env.undefined, filters = saved
        env.filters.clear()
        env.filters.update(filters)
        env.cache.clear()


def test_digest_waits_when_the_clock_is_moved_past_midnight(app, world):
    """The day is the UK day: 8:30am UTC on 29 June is 9:30am BST, a summary's time."""
    with app.app_context():
        assert digests.digest_day(utc(2027, 6, 29, 7, 59)) is None
        assert digests.digest_day(utc(2027, 6, 29, 8, 0)) == date(2027, 6, 29)
        assert digests.digest_day(utc(2027, 12, 29, 8, 30)) is None  # GMT: 8:30am
        assert digests.digest_day(utc(2027, 12, 29, 23, 59) + timedelta(minutes=1)) is None  # 30th, midnight
