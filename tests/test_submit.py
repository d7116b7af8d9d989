"""Checking answers and submitting a contribution; the internal deadline is enforced on the server."""

from __future__ import annotations

from datetime import date, timedelta

import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AuditEvent,
    BudgetLine,
    Contribution,
    ContributionStatus,
    OutboxEmail,
    Outcome,
    SectionResponse,
    SectionRevision,
)
from app.models.base import utcnow
from app.services.outbox import deliver_due
from tests.conftest import post_form


def complete_everything(app, contribution_id: int) -> None:
    """Write and complete every part directly, as a CSP would have through the pages."""
    with app.app_context():
        c = db.session.get(Contribution, contribution_id)
        for s in c.round.sections:
            if s.csp_contributes:
                text = f"Our text for {s.title}."
                response = SectionResponse(contribution=c, section=s, text=text, completed=True, version=1)
                response.revisions.append(
                    SectionRevision(number=1, text=text, word_count=len(text.split()), completed=True)
                )
                db.session.add(response)
        year, category = c.round.financial_years[0], c.round.cost_categories[0]
        db.session.add(
            BudgetLine(
                contribution=c,
                financial_year=year,
                cost_category=category,
                description="Two detached youth workers",
                amount_pence=61_250_50,
            )
        )
        db.session.add(
            Outcome(
                contribution=c,
                measure="Young people completing the programme",
                baseline="0",
                target="120",
                by_when=date(2020, 3, 31),
            )
        )
        c.status = ContributionStatus.IN_PROGRESS
        c.budget_completed = c.outcomes_completed = c.partners_completed = c.documents_completed = True
        db.session.commit()


def status_of(app, contribution_id):
    with app.app_context():
        return db.session.get(Contribution, contribution_id).status


def test_check_answers_lists_everything_and_what_is_missing(world, signed_in):
    manager = signed_in("csp_manager")
    page = manager.get(f"/contributions/{world.contribution_a1}/check-your-answers").get_data(as_text=True)
    assert "Check your answers before submitting" in page
    assert "You cannot submit yet" in page
    assert "Local need and evidence" in page
    assert "Accept and submit" not in page


def test_manager_submits_and_everyone_hears(app, world, signed_in, smtp_server):
    complete_everything(app, world.contribution_a1)
    manager = signed_in("csp_manager")
    url = f"/contributions/{world.contribution_a1}/check-your-answers"
    page = manager.get(url).get_data(as_text=True)
    assert "Our text for Local need and evidence." in page
    assert "£61,250.50" in page
    assert "Accept and submit" in page

    response = post_form(manager, f"/contributions/{world.contribution_a1}/submit", page=url)
    assert response.headers["Location"].endswith(f"/contributions/{world.contribution_a1}/submitted")
    confirmation = manager.get(response.headers["Location"]).get_data(as_text=True)
    assert "Contribution submitted" in confirmation and "What happens next" in confirmation

    assert status_of(app, world.contribution_a1) == ContributionStatus.SUBMITTED
    with app.app_context():
        deliver_due()
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "contribution.submitted"))
        assert event.actor_id == world.users["csp_manager"]
    to_manager = [m for m in smtp_server.to(world.emails["csp_manager"]) if "submitted" in m.subject]
    assert len(to_manager) == 1
    assert "has been submitted" in to_manager[0].subject
    for lead in ("lead_admin", "lead_staff"):
        [email] = [m for m in smtp_server.to(world.emails[lead]) if "submitted" in m.subject]
        assert "Reading Community Safety Partnership has submitted" in email.subject
    assert not [m for m in smtp_server.to(world.emails["viewer"]) if "submitted" in m.subject]
    assert not smtp_server.to(world.emails["other_lead_admin"])

    # Read-only afterwards: the task list says so and the lead sees it submitted.
    task_list = manager.get(f"/contributions/{world.contribution_a1}").get_data(as_text=True)
    assert "Submitted" in task_list and "Check your answers</a>" not in task_list
    lead_page = signed_in("lead_staff").get(f"/rounds/{world.round_a}").get_data(as_text=True)
    assert "Submitted" in lead_page


def test_submitting_twice_submits_once(app, world, signed_in):
    complete_everything(app, world.contribution_a1)
    manager = signed_in("csp_manager")
    url = f"/contributions/{world.contribution_a1}/check-your-answers"
    from tests.conftest import csrf_token

    token = csrf_token(manager, url)
    first = manager.post(f"/contributions/{world.contribution_a1}/submit", data={"csrf_token": token})
    second = manager.post(f"/contributions/{world.contribution_a1}/submit", data={"csrf_token": token})
    assert first.headers["Location"].endswith("/submitted")
    assert second.headers["Location"].endswith(f"/contributions/{world.contribution_a1}")  # locked: back to tasks
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "contribution.submitted")).all()
        assert len(events) == 1


def test_contributor_cannot_submit(app, world, signed_in):
    complete_everything(app, world.contribution_a1)
    contributor = signed_in("csp_contributor")
    url = f"/contributions/{world.contribution_a1}/check-your-answers"
    page = contributor.get(url).get_data(as_text=True)
    assert "Accept and submit" not in page
    assert "Your CSP manager" in page
    response = post_form(contributor, f"/contributions/{world.contribution_a1}/submit", page=url)
    assert response.status_code == 403
    assert status_of(app, world.contribution_a1) == ContributionStatus.IN_PROGRESS


def test_incomplete_contribution_is_refused(app, world, signed_in):
    manager = signed_in("csp_manager")
    url = f"/contributions/{world.contribution_a1}/check-your-answers"
    response = post_form(manager, f"/contributions/{world.contribution_a1}/submit", page=url)
    page = manager.get(response.headers["Location"]).get_data(as_text=True)
    assert "Complete every part before you submit" in page
    assert status_of(app, world.contribution_a1) == ContributionStatus.NOT_STARTED


def test_one_second_after_the_deadline_is_refused(app, world, signed_in):
    complete_everything(app, world.contribution_a1)
    manager = signed_in("csp_manager")
    url = f"/contributions/{world.contribution_a1}/check-your-answers"
    from tests.conftest import csrf_token

    token = csrf_token(manager, url)
    with app.app_context():
        # The deadline two minutes from now (a later time travel would outlast the session).
        c = db.session.get(Contribution, world.contribution_a1)
        c.round.internal_deadline = utcnow().replace(microsecond=0) + timedelta(minutes=2)
        db.session.commit()
        deadline = c.deadline
    with time_machine.travel(deadline + timedelta(seconds=1), tick=False):
        response = manager.post(f"/contributions/{world.contribution_a1}/submit", data={"csrf_token": token})
        page = manager.get(response.headers["Location"]).get_data(as_text=True)
    assert "The deadline for contributions has passed" in page
    assert status_of(app, world.contribution_a1) == ContributionStatus.IN_PROGRESS

    # One second before: a fresh browser (cookies signed "in the future" do not travel back in time).
    with time_machine.travel(deadline - timedelta(seconds=1), tick=False):
        on_time = signed_in("csp_manager")
        response = post_form(on_time, f"/contributions/{world.contribution_a1}/submit", page=url)
        assert response.headers["Location"].endswith("/submitted")
    assert status_of(app, world.contribution_a1) == ContributionStatus.SUBMITTED


def test_extension_lets_one_csp_submit_after_the_deadline(app, world, signed_in):
    complete_everything(app, world.contribution_a1)
    with app.app_context():
        c = db.session.get(Contribution, world.contribution_a1)
        c.round.internal_deadline = utcnow() - timedelta(hours=1)  # passed for everyone
        db.session.commit()
    manager = signed_in("csp_manager")
    url = f"/contributions/{world.contribution_a1}/check-your-answers"
    assert "The deadline has passed" in manager.get(url).get_data(as_text=True)
    with app.app_context():
        c = db.session.get(Contribution, world.contribution_a1)
        c.extension_until = utcnow() + timedelta(days=2)
        c.extension_reason = "Agreed by phone"
        db.session.commit()
    page = manager.get(url).get_data(as_text=True)
    assert "Agreed by phone" in page and "Accept and submit" in page
    post_form(manager, f"/contributions/{world.contribution_a1}/submit", page=url)
    assert status_of(app, world.contribution_a1) == ContributionStatus.SUBMITTED


def test_home_page_shows_the_contribution_and_what_is_left(world, signed_in):
    page = signed_in("csp_manager").get("/home").get_data(as_text=True)
    assert "Your contributions" in page
    assert "Early Intervention Youth Fund 2018" in page
    assert "14 days left" in page or "13 days left" in page
    assert "Still to do" in page and "Local need and evidence" in page
    other = signed_in("other_csp_manager").get("/home").get_data(as_text=True)
    assert f"/contributions/{world.contribution_a1}" not in other


def test_opening_the_round_emailed_each_csps_people_and_nobody_else(app, world):
    """Managers and contributors alike: a contributor gets what their CSP's managers get."""
    with app.app_context():
        rows = db.session.scalars(select(OutboxEmail).where(OutboxEmail.template == "round_opened")).all()
    assert sorted(r.to_address for r in rows) == sorted(
        world.emails[w] for w in ("csp_manager", "csp_contributor", "other_csp_manager", "other_lead_csp_manager",
                                  "other_lead_csp_contributor")
    )
