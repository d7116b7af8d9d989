"""Assignments: a CSP manager gives their contribution's parts to colleagues of their own CSP, a lead
bidder user gives the bid's merged sections to lead colleagues, each with an optional due date no
later than the deadline that applies; task lists, the bid overview and "Your tasks" show who has
what and what is overdue; assignees are reminded of their own due dates through the outbox."""

from __future__ import annotations

import html
from datetime import date, time, timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.dates import LONDON, govuk_date, london_to_utc
from app.extensions import db
from app.models import (
    Assignment,
    AuditEvent,
    Contribution,
    ContributionStatus,
    Round,
    RoundStatus,
    SectionTemplate,
    User,
)
from app.models.base import utcnow
from app.models.deadline import Reminder
from app.services import ServiceError
from app.services import assignments as service
from app.services.merge import bid_of
from tests.conftest import post_form, sign_in_directly
from tests.test_reminders import NOON_1_APRIL, NOON_29_APRIL, deliver, run, set_round, utc


def tasks_menu(n: int) -> str:
    """The menu's "Your tasks (n)", read out as "Your tasks (n open)"."""
    return f'Your tasks <span class="pb-nav-count">({n}<span class="govuk-visually-hidden"> open</span>)</span>'


def _get(model, ident):
    return db.session.get(model, ident)


def people(world, *names):
    return [_get(User, world.users[n]) for n in names]


def today():
    return utcnow().astimezone(LONDON).date()


def a1(world):
    return _get(Contribution, world.contribution_a1)


def page(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return html.unescape(response.get_data(as_text=True))


# --- who may give what to whom ------------------------------------------------------------------


def test_a_csp_manager_gives_a_part_to_a_colleague_of_their_csp(app, world):
    with app.app_context():
        manager, contributor = people(world, "csp_manager", "csp_contributor")
        due = today() + timedelta(days=5)
        assignment = service.assign_item(manager, a1(world), "budget", contributor, due)
        db.session.commit()
        assert (assignment.assignee_id, assignment.due_date, assignment.item_key) == (contributor.id, due, "budget")
        # Given again: the one assignment of the part changes hands.
        service.assign_item(manager, a1(world), "budget", manager, None)
        db.session.commit()
        rows = db.session.scalars(select(Assignment)).all()
        assert [(r.item_key, r.assignee_id, r.due_date) for r in rows] == [("budget", manager.id, None)]
        section_key = f"section-{world.section_a}"
        service.assign_item(manager, a1(world), section_key, contributor, None)
        service.unassign_item(manager, a1(world), "budget")
        db.session.commit()
        assert list(service.for_contribution(a1(world))) == [section_key]
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("assignment.%")).order_by(AuditEvent.id)
        ).all()
        assert actions == ["assignment.assigned"] * 3 + ["assignment.removed"]


@pytest.mark.parametrize("who", ["other_csp_manager", "lead_staff", "lead_admin", "other_lead_csp_manager"])
def test_a_part_is_never_given_to_anyone_outside_the_csp(app, world, who):
    with app.app_context():
        [manager, outsider] = people(world, "csp_manager", who)
        with pytest.raises(ServiceError) as refused:
            service.assign_item(manager, a1(world), "budget", outsider, None)
        assert refused.value.message == "Select someone at Reading Community Safety Partnership"
        assert refused.value.field == "assignee"


def test_a_deactivated_colleague_cannot_be_given_a_part(app, world):
    with app.app_context():
        manager, contributor = people(world, "csp_manager", "csp_contributor")
        contributor.active = False
        assert contributor.id not in [p.id for p in service.csp_colleagues(a1(world))]
        with pytest.raises(ServiceError):
            service.assign_item(manager, a1(world), "budget", contributor, None)


def test_only_the_csp_manager_gives_parts_and_only_while_the_csp_holds_the_contribution(app, world):
    with app.app_context():
        manager, contributor = people(world, "csp_manager", "csp_contributor")
        with pytest.raises(ServiceError):
            service.assign_item(contributor, a1(world), "budget", contributor, None)
        a1(world).status = ContributionStatus.SUBMITTED
        with pytest.raises(ServiceError) as refused:
            service.assign_item(manager, a1(world), "budget", contributor, None)
        assert "submitted" in refused.value.message
        with pytest.raises(ServiceError):
            service.assign_item(manager, a1(world), "no-such-part", contributor, None)


def test_the_due_date_is_on_or_before_the_csps_deadline_or_its_extension(app, world):
    with app.app_context():
        manager, contributor = people(world, "csp_manager", "csp_contributor")
        contribution = a1(world)
        last = contribution.deadline.astimezone(LONDON).date()
        with pytest.raises(ServiceError) as refused:
            service.assign_item(manager, contribution, "budget", contributor, last + timedelta(days=1))
        assert refused.value.message == f"Enter a due date on or before {govuk_date(last)}"
        assert refused.value.field == "due_date"
        with pytest.raises(ServiceError) as past:
            service.assign_item(manager, contribution, "budget", contributor, today() - timedelta(days=1))
        assert past.value.message == "The due date must be today or in the future"
        assert service.assign_item(manager, contribution, "budget", contributor, last).due_date == last
        contribution.extension_until = contribution.deadline + timedelta(days=7)
        later = last + timedelta(days=7)
        assert service.assign_item(manager, contribution, "budget", contributor, later).due_date == later


def test_a_lead_user_gives_a_merged_section_to_a_lead_colleague(app, world):
    with app.app_context():
        staff, admin = people(world, "lead_staff", "lead_admin")
        rnd = _get(Round, world.round_a)
        bid, section = bid_of(rnd), _get(SectionTemplate, world.section_a)
        for outsider in people(world, "viewer", "csp_manager", "other_lead_staff"):
            with pytest.raises(ServiceError) as refused:
                service.assign_section(staff, bid, section, outsider, None)
            assert refused.value.message == f"Select someone at {rnd.lead_bidder.display_name}"
        funder_day = rnd.funder_deadline.astimezone(LONDON).date()
        with pytest.raises(ServiceError) as late:
            service.assign_section(staff, bid, section, admin, funder_day + timedelta(days=1))
        assert late.value.message == f"Enter a due date on or before {govuk_date(funder_day)}"
        assignment = service.assign_section(staff, bid, section, admin, funder_day)
        db.session.commit()
        assert service.for_bid(bid) == {section.id: assignment}
        with pytest.raises(ServiceError):  # a CSP user never gives the bid's sections
            service.assign_section(people(world, "csp_manager")[0], bid, section, admin, None)
        rnd.status = RoundStatus.SIGNED_OFF
        with pytest.raises(ServiceError) as locked:
            service.assign_section(staff, bid, section, staff, None)
        assert "signed off" in locked.value.message


def test_a_lead_user_is_never_given_a_csp_part(app, world):
    with app.app_context():
        manager, staff = people(world, "csp_manager", "lead_staff")
        with pytest.raises(ServiceError):
            service.assign_item(manager, a1(world), "outcomes", staff, None)


# --- the pages ----------------------------------------------------------------------------------


def test_the_manager_gives_a_part_through_the_form_and_the_task_list_shows_it(app, world, signed_in):
    manager = signed_in("csp_manager")
    task_list = f"/contributions/{world.contribution_a1}"
    assert "Who does what" in page(manager, task_list)
    form = f"/contributions/{world.contribution_a1}/assign/budget"
    response = post_form(manager, form, {})
    body = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400 and "Select who should do this" in body
    with app.app_context():
        last = a1(world).deadline.astimezone(LONDON).date()
        contributor_id = world.users["csp_contributor"]
    too_late = last + timedelta(days=1)
    response = post_form(manager, form, {"assignee": contributor_id,
                                         "due_date": [too_late.day, too_late.month, too_late.year]})
    body = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert f"Enter a due date on or before {govuk_date(last)}" in body
    assert f'value="{too_late.day}"' in body  # what was typed is kept
    due = today() + timedelta(days=3)
    response = post_form(manager, form, {"assignee": contributor_id, "due_date": [due.day, due.month, due.year]})
    assert response.status_code == 302
    shown = page(manager, task_list)
    assert f"Given to {world_name(app, world, 'csp_contributor')}, due by {govuk_date(due)}" in shown
    assert "Overdue" not in shown
    # Three days after the due date the part is overdue (it is not completed).
    with time_machine.travel(london_to_utc(due + timedelta(days=1), time(10)), tick=False):
        later = app.test_client()
        sign_in_directly(later, world.emails["csp_manager"])
        assert "Overdue" in page(later, task_list)
        contributor = app.test_client()
        sign_in_directly(contributor, world.emails["csp_contributor"])
        tasks = page(contributor, "/tasks")
        assert tasks_menu(1) in tasks and "Budget" in tasks and "Overdue" in tasks
        assert f'href="/contributions/{world.contribution_a1}/budget"' in tasks
    # Taking it back.
    response = post_form(manager, f"{form}/remove", page=form)
    assert response.status_code == 302
    assert "Given to " + world_name(app, world, "csp_contributor") not in page(manager, task_list)


def world_name(app, world, who):
    with app.app_context():
        return _get(User, world.users[who]).full_name


def test_a_contributor_sees_who_has_each_part_but_cannot_give_parts(app, world, signed_in):
    with app.app_context():
        manager, contributor = people(world, "csp_manager", "csp_contributor")
        service.assign_item(manager, a1(world), "partners", contributor, None)
        db.session.commit()
        name = contributor.full_name
    client = signed_in("csp_contributor")
    shown = page(client, f"/contributions/{world.contribution_a1}")
    assert f"Given to {name}" in shown and "Who does what" not in shown
    assert client.get(f"/contributions/{world.contribution_a1}/assign/partners").status_code == 403


def test_a_deactivated_assignee_is_shown_as_such_until_the_part_is_given_to_someone_else(app, world, signed_in):
    with app.app_context():
        manager, contributor = people(world, "csp_manager", "csp_contributor")
        service.assign_item(manager, a1(world), "documents", contributor, None)
        contributor.active = False
        db.session.commit()
        name = contributor.full_name
    shown = page(signed_in("csp_manager"), f"/contributions/{world.contribution_a1}")
    assert f"{name} – account deactivated" in shown


def test_your_tasks_lists_open_parts_and_hides_completed_ones(app, world, signed_in):
    with app.app_context():
        manager, contributor = people(world, "csp_manager", "csp_contributor")
        soon = today() + timedelta(days=2)
        service.assign_item(manager, a1(world), "budget", contributor, soon)
        service.assign_item(manager, a1(world), f"section-{world.section_a}", contributor, None)
        db.session.commit()
        section = _get(SectionTemplate, world.section_a)
        section_title = f"{section.number}. {section.title}"
    client = signed_in("csp_contributor")
    shown = page(client, "/tasks")
    assert tasks_menu(2) in shown
    assert shown.index("Budget") < shown.index(section_title)  # soonest due first, no due date last
    assert govuk_date(soon) in shown and "No due date" in shown and "Overdue" not in shown
    assert "Reading Community Safety Partnership's contribution" in shown
    with app.app_context():
        a1(world).budget_completed = True
        db.session.commit()
    shown = page(client, "/tasks")
    assert tasks_menu(1) in shown and "Budget" not in shown.split("<main")[1]
    with app.app_context():  # submitted: nothing left for them to do
        a1(world).status = ContributionStatus.SUBMITTED
        db.session.commit()
    shown = page(client, "/tasks")
    assert "Nothing is given to you at the moment" in shown and "Your tasks <span" not in shown
    # Someone else's tasks are not theirs.
    assert "Nothing is given to you" in page(signed_in("other_csp_manager"), "/tasks")


def test_the_bid_overview_shows_who_writes_each_merged_section(app, world, signed_in):
    staff = signed_in("lead_staff")
    form = f"/bid/rounds/{world.round_a}/sections/{world.section_a}/assign"
    assert "Who should do this?" in page(staff, form)
    with app.app_context():
        admin_id, name = world.users["lead_admin"], _get(User, world.users["lead_admin"]).full_name
        funder_day = _get(Round, world.round_a).funder_deadline.astimezone(LONDON).date()
    late = funder_day + timedelta(days=1)
    response = post_form(staff, form, {"assignee": admin_id, "due_date": [late.day, late.month, late.year]})
    assert response.status_code == 400
    assert f"Enter a due date on or before {govuk_date(funder_day)}" in html.unescape(response.get_data(as_text=True))
    due = today() + timedelta(days=1)
    response = post_form(staff, form, {"assignee": admin_id, "due_date": [due.day, due.month, due.year]})
    assert response.status_code == 302
    overview = page(staff, f"/bid/rounds/{world.round_a}")
    assert name in overview and f"Due by {govuk_date(due)}" in overview and "Overdue" not in overview
    with time_machine.travel(london_to_utc(due + timedelta(days=2), time(10)), tick=False):
        admin = app.test_client()
        sign_in_directly(admin, world.emails["lead_admin"])
        assert "Overdue" in page(admin, f"/bid/rounds/{world.round_a}")
        tasks = page(admin, "/tasks")
        assert "Collective bid" in tasks and tasks_menu(1) in tasks
        assert f'href="/bid/rounds/{world.round_a}/sections/{world.section_a}"' in tasks


# --- reminders of due dates ---------------------------------------------------------------------


QUIET = {"lead_digest": False, "funder_days_before": [], "funder_on_the_day": False, "csp_days_before": [],
         "csp_on_the_day": False, "csp_overdue_daily": False}


def _give_budget(app, world, due: date, who="csp_contributor", now=utc(2026, 3, 1, 12), mail=None):
    """The manager gives the budget to someone; the email telling them so is delivered and put aside
    (`mail`: the test's mail server), so that what the test reads next is the reminders."""
    with app.app_context():
        manager, person = people(world, "csp_manager", who)
        service.assign_item(manager, a1(world), "budget", person, due, now=now)
        db.session.commit()
    if mail is not None:
        assert deliver(app).sent == 1
        mail.clear()


def test_the_assignee_is_reminded_2_days_before_on_the_day_and_once_overdue_on_working_days(
        app, world, smtp_server):
    set_round(app, world, internal=NOON_1_APRIL, funder=NOON_29_APRIL, **QUIET)
    _give_budget(app, world, date(2026, 3, 20), mail=smtp_server)
    assert run(app, utc(2026, 3, 17, 9, 5)).written == 0
    assert run(app, utc(2026, 3, 18, 9, 5)).written == 1  # 9am (GMT), 2 days before
    assert run(app, utc(2026, 3, 18, 9, 30)).written == 0  # never twice
    assert deliver(app).sent == 1
    [message] = smtp_server.to(world.emails["csp_contributor"])
    assert message.subject == "Early Intervention Youth Fund 2018: Budget is due in 2 days"
    assert "given to you to finish by 20 March 2026" in message.text
    assert f"/contributions/{world.contribution_a1}/budget" in message.text
    assert run(app, utc(2026, 3, 20, 9, 5)).written == 1  # Friday 20 March, the day itself
    assert run(app, utc(2026, 3, 21, 9, 5)).written == 0  # Saturday: no reminder on a day off
    assert run(app, utc(2026, 3, 23, 9, 5)).written == 1  # overdue: Monday, the next working day
    assert run(app, utc(2026, 3, 24, 9, 5)).written == 0  # overdue once only
    deliver(app)
    subjects = [m.subject.split(": ", 1)[1] for m in smtp_server.to(world.emails["csp_contributor"])]
    assert subjects == ["Budget is due in 2 days", "Budget is due today", "Budget is overdue"]
    # Nobody else was reminded of the part.
    assert smtp_server.to(world.emails["csp_manager"]) == []


def test_no_reminder_for_a_completed_part_a_deactivated_assignee_or_a_submitted_contribution(app, world, smtp_server):
    set_round(app, world, internal=NOON_1_APRIL, funder=NOON_29_APRIL, **QUIET)
    _give_budget(app, world, date(2026, 3, 20), mail=smtp_server)
    with app.app_context():
        a1(world).budget_completed = True
        db.session.commit()
    assert run(app, utc(2026, 3, 18, 9, 5)).written == 0
    with app.app_context():
        a1(world).budget_completed = False
        _get(User, world.users["csp_contributor"]).active = False
        db.session.commit()
    assert run(app, utc(2026, 3, 20, 9, 5)).written == 0
    with app.app_context():
        _get(User, world.users["csp_contributor"]).active = True
        a1(world).status = ContributionStatus.SUBMITTED
        db.session.commit()
    assert run(app, utc(2026, 3, 23, 9, 5)).written == 0  # its overdue reminder's working day


def test_a_new_due_date_or_assignee_makes_new_reminders_and_cancels_the_waiting_ones(app, world, smtp_server):
    set_round(app, world, internal=NOON_1_APRIL, funder=NOON_29_APRIL, **QUIET)
    _give_budget(app, world, date(2026, 3, 20), mail=smtp_server)
    assert run(app, utc(2026, 3, 18, 9, 5)).written == 1  # written, not yet delivered
    _give_budget(app, world, date(2026, 3, 25), now=utc(2026, 3, 18, 10), mail=smtp_server)
    assert deliver(app).sent == 0  # the waiting reminder was about the old due date
    assert run(app, utc(2026, 3, 23, 9, 5)).written == 1
    _give_budget(app, world, date(2026, 3, 25), who="csp_manager", now=utc(2026, 3, 23, 10))  # to themself: no news
    assert run(app, utc(2026, 3, 23, 10, 5)).written == 1  # the new assignee's "2 days before"
    deliver(app)
    assert [m.to for m in smtp_server.messages] == [world.emails["csp_manager"]]
    with app.app_context():
        cancelled = db.session.scalars(select(Reminder.cancelled_reason).where(Reminder.cancelled_reason.is_not(None)))
        assert list(cancelled) == ["The task changed", "The task changed"]


def test_a_due_date_on_a_monday_is_reminded_on_the_friday_before(app, world, smtp_server):
    set_round(app, world, internal=NOON_1_APRIL, funder=NOON_29_APRIL, **QUIET)
    _give_budget(app, world, date(2026, 3, 23), mail=smtp_server)  # Monday: "2 days before" would be a Saturday
    assert run(app, utc(2026, 3, 20, 9, 5)).written == 1
    assert run(app, utc(2026, 3, 21, 9, 5)).written == 0
    deliver(app)
    [message] = smtp_server.to(world.emails["csp_contributor"])
    assert message.subject == "Early Intervention Youth Fund 2018: Budget is due in 3 days"


def test_a_merged_sections_assignee_is_reminded_too(app, world, smtp_server):
    set_round(app, world, internal=NOON_1_APRIL, funder=NOON_29_APRIL, **QUIET)
    with app.app_context():
        staff, admin = people(world, "lead_staff", "lead_admin")
        rnd = _get(Round, world.round_a)
        service.assign_section(staff, bid_of(rnd), _get(SectionTemplate, world.section_a), admin, date(2026, 4, 10),
                               now=utc(2026, 3, 1))
        db.session.commit()
    assert deliver(app).sent == 1  # "... is yours to do"
    smtp_server.clear()
    with app.app_context():
        section = _get(SectionTemplate, world.section_a)
        title = f"{section.number}. {section.title}"
    assert run(app, utc(2026, 4, 10, 8, 5)).written == 1  # 9am BST on the day
    deliver(app)
    [message] = smtp_server.to(world.emails["lead_admin"])
    assert message.subject == f"Early Intervention Youth Fund 2018: {title} is due today"
    assert f"/bid/rounds/{world.round_a}/sections/{world.section_a}" in message.text


def test_task_reminders_are_listed_on_the_rounds_reminders_page_and_are_not_sent_again_from_it(
        app, world, smtp_server, signed_in):
    set_round(app, world, internal=NOON_1_APRIL, funder=NOON_29_APRIL, **QUIET)
    _give_budget(app, world, date(2026, 3, 20), mail=smtp_server)
    assert run(app, utc(2026, 3, 18, 9, 5)).written == 1
    deliver(app)
    shown = page(signed_in("lead_admin"), f"/rounds/{world.round_a}/reminders")
    assert "Task due soon" in shown
    assert "Send again" not in shown.split("Task due soon", 1)[1].split("</tr>", 1)[0]


# --- the assignee hears of it -----------------------------------------------------------------


def test_the_assignee_is_told_on_whats_new_and_by_email_once(app, world, smtp_server):
    from app.models import Notification

    set_round(app, world, internal=NOON_1_APRIL, funder=NOON_29_APRIL, **QUIET)
    _give_budget(app, world, date(2026, 3, 20))
    _give_budget(app, world, date(2026, 3, 20))  # the same form sent again: no news
    with app.app_context():
        rows = db.session.scalars(select(Notification).where(Notification.kind == "assigned")).all()
        assert [r.user_id for r in rows] == [world.users["csp_contributor"]]
        assert rows[0].link == f"/contributions/{world.contribution_a1}/budget"
        assert "assigned Budget of" in rows[0].summary and "due by 20 March 2026" in rows[0].summary
    assert deliver(app).sent == 1
    [message] = smtp_server.to(world.emails["csp_contributor"])
    assert message.subject == "Early Intervention Youth Fund 2018: Budget of " + message.subject.split(" of ", 1)[1]
    assert f"/contributions/{world.contribution_a1}/budget" in message.text
    assert "email preferences" in message.text
    # A new due date is news again; the manager who assigned it hears nothing.
    _give_budget(app, world, date(2026, 3, 25))
    assert deliver(app).sent == 1
    assert smtp_server.to(world.emails["csp_manager"]) == []
