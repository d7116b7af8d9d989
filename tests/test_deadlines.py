"""Deadlines: the deadlines page, changing a deadline with a reason (and moving the internal deadline
with the funder's), the history, the emails to everyone in the round, and clock-change edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.dates import LONDON, countdown, govuk_datetime, govuk_time
from app.extensions import db
from app.models import (
    AuditEvent,
    Contribution,
    ContributionStatus,
    DeadlineChange,
    DeadlineKind,
    Role,
    Round,
    RoundStatus,
    User,
)
from app.models.base import utcnow
from app.services import ServiceError
from app.services import deadlines as service
from app.services import rounds as rounds_service
from app.services.outbox import deliver_due
from tests.conftest import csrf_token, post_form
from tests.factories import CSPFactory, UserFactory
from tests.test_submit import complete_everything, status_of


def london(*args) -> datetime:
    """A London wall-clock time as UTC (the first one when it happens twice)."""
    return datetime(*args, tzinfo=LONDON).astimezone(UTC)


def date_fields(prefix: str, when: datetime) -> dict:
    local = when.astimezone(LONDON)
    return {
        f"{prefix}_date": [str(local.day), str(local.month), str(local.year)],
        f"{prefix}_time": f"{local.hour:02d}:{local.minute:02d}",
    }


def the_round(round_id: int) -> Round:
    return db.session.get(Round, round_id)


def user(world, who: str) -> User:
    return db.session.get(User, world.users[who])


# --- showing times that happen twice ------------------------------------------------------------


def test_a_time_that_happens_twice_says_which_one():
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 1:30am BST
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 1:30am GMT, an hour later
    assert govuk_datetime(first) == "1:30am (BST) on Sunday 25 October 2026"
    assert govuk_datetime(second) == "1:30am (GMT) on Sunday 25 October 2026"
    # Times that happen once are shown as always.
    assert govuk_time(datetime(2026, 10, 25, 2, 30, tzinfo=UTC)) == "2:30am"
    assert govuk_time(datetime(2026, 10, 24, 23, 30, tzinfo=UTC)) == "12:30am"
    assert govuk_datetime(datetime(2018, 9, 28, 11, tzinfo=UTC)) == "12pm on Friday 28 September 2018"
    assert govuk_time(datetime(2026, 3, 29, 1, 30, tzinfo=UTC)) == "2:30am"  # after the March gap
    assert countdown(second, datetime(2026, 10, 24, 23, tzinfo=UTC)).text == "Due today at 1:30am (GMT)"


# --- moving the internal deadline on the UK clock -------------------------------------------------


def test_shift_keeps_the_uk_clock_time_across_the_october_clock_change():
    # The funder's deadline moves from 12pm Monday 19 October (BST) to 12pm Monday 2 November (GMT).
    old_funder, new_funder = london(2026, 10, 19, 12), london(2026, 11, 2, 12)
    assert new_funder - old_funder == timedelta(days=14, hours=1)  # elapsed time: an hour more
    moved = service.shift_on_uk_clock(london(2026, 10, 16, 12), old_funder, new_funder)
    assert govuk_datetime(moved) == "12pm on Friday 30 October 2026"
    assert moved == datetime(2026, 10, 30, 12, tzinfo=UTC)
    # Landing in the repeated hour means the first 1:30am, in BST.
    moved = service.shift_on_uk_clock(london(2026, 10, 18, 1, 30), london(2026, 10, 19, 12), london(2026, 10, 26, 12))
    assert moved == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert govuk_datetime(moved) == "1:30am (BST) on Sunday 25 October 2026"
    # Landing in the March gap hour, which does not exist, means an hour later.
    moved = service.shift_on_uk_clock(london(2027, 3, 21, 1, 30), london(2027, 3, 22, 12), london(2027, 3, 29, 12))
    assert govuk_datetime(moved) == "2:30am on Sunday 28 March 2027"


def test_funder_change_moves_the_internal_deadline_on_the_uk_clock_across_the_clock_change(app, world):
    with app.app_context():
        rnd, admin = the_round(world.round_a), user(world, "lead_admin")
        rnd.internal_deadline, rnd.funder_deadline = london(2026, 10, 16, 12), london(2026, 10, 19, 12)
        db.session.flush()
        outcome = service.change_deadline(
            admin,
            rnd,
            "funder",
            london(2026, 11, 2, 12),
            "Home Office extended the deadline to 2 November",
            move_internal=True,
            now=london(2026, 10, 1, 9),
        )
        db.session.commit()
        assert rnd.funder_deadline == datetime(2026, 11, 2, 12, tzinfo=UTC)
        assert rnd.internal_deadline == datetime(2026, 10, 30, 12, tzinfo=UTC)  # 12pm GMT, not 1pm
        assert outcome.moved.caused_by_id == outcome.change.id
        assert outcome.moved.kind == DeadlineKind.INTERNAL
        assert outcome.moved.old_at == london(2026, 10, 16, 12)
        assert outcome.moved.reason == "Home Office extended the deadline to 2 November"


# --- the service's rules --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "offset", "move", "message"),
    [
        ("funder", timedelta(0), False, "The new funder’s deadline must be different from the current one"),
        ("internal", -timedelta(days=15), False, "The new deadline must be in the future"),
        ("funder", -timedelta(days=29), False, "The new deadline must be in the future"),
        ("internal", timedelta(days=14), False, "The internal deadline must be before the funder’s deadline"),
        ("funder", -timedelta(days=15), False, "The funder’s deadline must be after the internal deadline"),
        ("sign_off", -timedelta(days=1), False, "The sign-off target must be after the internal deadline"),
        ("sign_off", timedelta(days=15), False, "The sign-off target must be after the internal deadline"),
    ],
)
def test_service_refuses_deadlines_that_do_not_fit(app, world, kind, offset, move, message):
    with app.app_context():
        rnd, admin = the_round(world.round_a), user(world, "lead_admin")
        base = {"funder": rnd.funder_deadline, "internal": rnd.internal_deadline, "sign_off": rnd.internal_deadline}
        with pytest.raises(ServiceError) as exc:
            service.change_deadline(admin, rnd, kind, base[kind] + offset, "A reason", move_internal=move)
        assert exc.value.message.startswith(message)
        assert exc.value.field == "new_date"


def test_service_refuses_people_who_are_not_administrators(app, world):
    with app.app_context():
        rnd = the_round(world.round_a)
        for who in ("lead_staff", "viewer", "csp_manager", "other_lead_admin"):
            with pytest.raises(ServiceError):
                service.change_deadline(user(world, who), rnd, "funder", rnd.funder_deadline + timedelta(days=1), "x")
        assert not db.session.scalars(select(DeadlineChange)).all()


def test_service_needs_a_reason_of_500_characters_or_fewer(app, world):
    with app.app_context():
        rnd, admin = the_round(world.round_a), user(world, "lead_admin")
        new_at = rnd.funder_deadline + timedelta(days=1)
        with pytest.raises(ServiceError, match="Enter the reason for the change"):
            service.change_deadline(admin, rnd, "funder", new_at, "   ")
        with pytest.raises(ServiceError, match="Reason must be 500 characters or fewer"):
            service.change_deadline(admin, rnd, "funder", new_at, "x" * 501)


def test_sign_off_target_must_stay_between_the_deadlines_when_they_move(app, world):
    with app.app_context():
        rnd, admin = the_round(world.round_a), user(world, "lead_admin")
        target = rnd.internal_deadline + timedelta(days=7)
        service.change_deadline(admin, rnd, "sign_off", target, "Board meets that week")
        with pytest.raises(ServiceError, match="Change the sign-off target first"):
            service.change_deadline(admin, rnd, "internal", target + timedelta(days=1), "More time")
        assert rnd.internal_deadline < target


# --- the pages ------------------------------------------------------------------------------------


def test_deadlines_page_shows_the_timeline_csps_and_links(app, world, signed_in):
    with app.app_context():
        rnd = the_round(world.round_a)
        internal, funder = rnd.internal_deadline, rnd.funder_deadline
        c = db.session.get(Contribution, world.contribution_a2)
        c.extension_until, c.extension_reason = internal + timedelta(days=3), "Their board meets late"
        db.session.commit()
    page = signed_in("lead_admin").get(f"/rounds/{world.round_a}/deadlines").get_data(as_text=True)
    # The milestones, in date order, with today among them.
    order = [page.index(x) for x in ("Round opened", ">Today<", "Internal deadline for contributions",
                                      "Funder’s deadline</h3>")]
    assert order == sorted(order)
    assert govuk_datetime(internal) in page and govuk_datetime(funder) in page
    assert "14 days left" in page or "13 days left" in page
    assert "28 days left" in page or "27 days left" in page
    # Each CSP against its deadline, with the extension and its reason.
    assert "Reading Community Safety Partnership" in page and "Safer Slough Partnership" in page
    assert govuk_datetime(internal + timedelta(days=3)) in page and "Their board meets late" in page
    assert "Change the funder’s deadline" in page
    assert "Change the internal deadline" in page
    assert "Set the sign-off target" in page
    assert f"/rounds/{world.round_a}/deadlines.ics" in page or "calendar" in page.lower()
    assert "No deadline has been changed yet" in page


def test_viewer_sees_the_deadlines_but_cannot_change_them(world, signed_in):
    viewer = signed_in("viewer")
    page = viewer.get(f"/rounds/{world.round_a}/deadlines").get_data(as_text=True)
    assert "Timeline" in page and "Change the funder’s deadline" not in page
    assert viewer.get(f"/rounds/{world.round_a}/deadlines/funder").status_code == 403
    assert signed_in("lead_staff").get(f"/rounds/{world.round_a}/deadlines/internal").status_code == 403


def test_csp_users_get_403_and_other_lead_bidders_404(world, signed_in):
    for who in ("csp_manager", "csp_contributor"):
        assert signed_in(who).get(f"/rounds/{world.round_a}/deadlines").status_code == 403
    assert signed_in("other_lead_admin").get(f"/rounds/{world.round_a}/deadlines").status_code == 404
    assert signed_in("other_lead_admin").get(f"/rounds/{world.round_a}/deadlines/funder").status_code == 404
    assert signed_in("lead_admin").get(f"/rounds/{world.round_a}/deadlines/opening").status_code == 404


def test_change_form_shows_errors_and_keeps_what_was_typed(app, world, signed_in):
    admin = signed_in("lead_admin")
    url = f"/rounds/{world.round_a}/deadlines/funder"
    form = admin.get(url).get_data(as_text=True)
    assert "Move the internal deadline by the same amount" in form
    assert "the first one, in British Summer Time (BST)" in form
    response = post_form(admin, url, {"new_date": ["", "", ""], "new_time": "", "reason": ""})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "There is a problem" in page
    for message in ("Enter the new deadline", "Enter a time", "Enter the reason for the change"):
        assert message in page
    response = post_form(admin, url, {"new_date": ["31", "2", "2027"], "new_time": "25pm", "reason": "Kept text"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "New deadline must be a real date" in page
    assert 'value="31"' in page and 'value="25pm"' in page and "Kept text" in page

    with app.app_context():
        past = utcnow() - timedelta(days=1)
    response = post_form(admin, url, {**date_fields("new", past), "reason": "Too late"})
    assert response.status_code == 400
    assert "The new deadline must be in the future" in response.get_data(as_text=True)
    with app.app_context():
        assert not db.session.scalars(select(DeadlineChange)).all()


def test_funder_change_without_moving_the_internal_deadline(app, world, signed_in, smtp_server):
    with app.app_context():
        rnd = the_round(world.round_a)
        old_funder, internal = rnd.funder_deadline, rnd.internal_deadline
        new_funder = london(*(old_funder + timedelta(days=14)).astimezone(LONDON).timetuple()[:3], 12)
    admin = signed_in("lead_admin")
    response = post_form(
        admin,
        f"/rounds/{world.round_a}/deadlines/funder",
        {**date_fields("new", new_funder), "reason": "Home Office extended the deadline"},
    )
    assert response.status_code == 302
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert (
        f"The funder’s deadline is now {govuk_datetime(new_funder)}. Everyone in the round has been emailed."
        in page
    )
    assert "Home Office extended the deadline" in page  # the history
    with app.app_context():
        rnd = the_round(world.round_a)
        assert rnd.funder_deadline == new_funder and rnd.internal_deadline == internal
        [change] = service.history(rnd)
        assert (change.kind, change.old_at, change.new_at) == (DeadlineKind.FUNDER, old_funder, new_funder)
        assert change.changed_by_id == world.users["lead_admin"]
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "deadline.changed"))
        assert event.detail["change_id"] == change.id and event.detail["reason"] == "Home Office extended the deadline"
        assert event.actor_id == world.users["lead_admin"]


def test_funder_change_moving_the_internal_deadline_emails_everyone_in_the_round(
    app, world, signed_in, smtp_server
):
    with app.app_context():
        # People who must not hear: a deactivated lead user, a CSP of the same lead bidder that is not
        # taking part, and (in the world) the other lead bidder's users.
        lead = the_round(world.round_a).lead_bidder
        UserFactory(role=Role.LEAD_STAFF, organisation=lead, email="gone@a.example.org", active=False)
        outsider = CSPFactory(name="Wokingham Community Safety Partnership", lead_bidder=lead)
        UserFactory(role=Role.CSP_MANAGER, organisation=outsider, email="manager@a3.example.org")
        c2 = db.session.get(Contribution, world.contribution_a2)
        rnd = the_round(world.round_a)
        c2.extension_until, c2.extension_reason = rnd.internal_deadline + timedelta(days=2), "Agreed by phone"
        db.session.commit()
        old_internal, old_funder = rnd.internal_deadline, rnd.funder_deadline
        new_funder = old_funder + timedelta(days=7)
    admin = signed_in("lead_admin")
    response = post_form(
        admin,
        f"/rounds/{world.round_a}/deadlines/funder",
        {**date_fields("new", new_funder), "move_internal": "y", "reason": "Home Office gave everyone a week more"},
    )
    assert response.status_code == 302
    with app.app_context():
        rnd = the_round(world.round_a)
        new_funder = rnd.funder_deadline
        new_internal = rnd.internal_deadline
        assert new_internal == old_internal + (new_funder - old_funder)  # no clock change in between
        history = service.history(rnd)
        assert [h.kind for h in history] == [DeadlineKind.INTERNAL, DeadlineKind.FUNDER]
        assert history[0].caused_by_id == history[1].id
        assert len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "deadline.changed")).all()) == 2
        report = deliver_due()
        assert report.sent == 6
        # A2's extension is now earlier than the internal deadline, so it stops mattering.
        assert db.session.get(Contribution, world.contribution_a2).deadline == new_internal

    page = admin.get(f"/rounds/{world.round_a}/deadlines").get_data(as_text=True)
    assert "Moved with the funder’s deadline" in page

    expected = {"lead_admin", "lead_staff", "viewer", "csp_manager", "csp_contributor", "other_csp_manager"}
    received = {m.rcpt_tos[0] for m in smtp_server.messages}
    assert received == {world.emails[who] for who in expected}
    for address in ("gone@a.example.org", "manager@a3.example.org", world.emails["other_lead_admin"],
                    world.emails["other_lead_csp_manager"]):
        assert not smtp_server.to(address)

    [to_admin] = smtp_server.to(world.emails["lead_admin"])
    assert to_admin.subject == (
        f"Early Intervention Youth Fund 2018: the funder’s deadline has changed to {govuk_datetime(new_funder)}"
    )
    text = to_admin.text
    assert f"Funder’s deadline: was {govuk_datetime(old_funder)}, now {govuk_datetime(new_funder)}." in text
    assert f"Internal deadline: was {govuk_datetime(old_internal)}, now {govuk_datetime(new_internal)}." in text
    assert "Reason: Home Office gave everyone a week more" in text
    assert f"/rounds/{world.round_a}/deadlines" in text
    [to_manager] = smtp_server.to(world.emails["csp_manager"])
    assert f"Reading Community Safety Partnership's contribution is now due by {govuk_datetime(new_internal)}" in (
        to_manager.text
    )
    assert f"/contributions/{world.contribution_a1}" in to_manager.text
    assert "Go to your contribution" in to_manager.html


def test_draft_round_changes_are_recorded_but_nobody_is_emailed(app, world, signed_in, smtp_server):
    with app.app_context():
        rnd = the_round(world.round_a)
        rnd.status, rnd.opened_at = RoundStatus.DRAFT, None
        db.session.commit()
        new_internal = rnd.internal_deadline - timedelta(days=2)
    admin = signed_in("lead_admin")
    response = post_form(
        admin, f"/rounds/{world.round_a}/deadlines/internal", {**date_fields("new", new_internal), "reason": "Earlier"}
    )
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "Nobody has been emailed because the round is not open" in page
    with app.app_context():
        assert deliver_due().sent == 0
        assert len(service.history(the_round(world.round_a))) == 1


def test_details_form_changes_deadlines_only_while_setting_up(app, world, signed_in):
    admin = signed_in("lead_admin")
    url = f"/rounds/{world.round_a}/edit"
    page = admin.get(url).get_data(as_text=True)
    assert "Change a deadline" in page and 'name="funder_date"' not in page
    with app.app_context():
        rnd = the_round(world.round_a)
        funder = rnd.funder_deadline
    data = {"fund_name": "EIYF", "funder": "Home Office", "title": "Renamed round", "summary": "",
            **date_fields("funder", funder + timedelta(days=3))}
    assert post_form(admin, url, data).status_code == 302
    with app.app_context():
        rnd = the_round(world.round_a)
        assert rnd.title == "Renamed round" and rnd.funder_deadline == funder  # the deadline is not changed
        with pytest.raises(ServiceError, match="deadlines page"):
            rounds_service.update_details(
                user(world, "lead_admin"), rnd, title="x", funder_deadline=funder + timedelta(days=1)
            )
        # Before opening, the details form changes them, and the history keeps the change.
        rnd.status = RoundStatus.DRAFT
        db.session.commit()
    page = admin.get(url).get_data(as_text=True)
    assert 'name="funder_date"' in page
    with app.app_context():
        internal = the_round(world.round_a).internal_deadline
    data.update(date_fields("internal", internal))
    assert post_form(admin, url, data).status_code == 302
    with app.app_context():
        changes = {c.kind: c for c in service.history(the_round(world.round_a))}
        change = changes[DeadlineKind.FUNDER]
        assert change.reason == "Changed while setting up the round"
        assert change.old_at == funder
        assert change.new_at == funder.replace(second=0, microsecond=0) + timedelta(days=3)


def test_an_extension_is_kept_in_the_history(app, world, signed_in):
    with app.app_context():
        rnd = the_round(world.round_a)
        until = rnd.internal_deadline + timedelta(days=3)
        old = rnd.internal_deadline
    admin = signed_in("lead_admin")
    response = post_form(
        admin,
        f"/rounds/{world.round_a}/contributions/{world.contribution_a1}/extension",
        {**date_fields("until", until), "reason": "Their analyst is ill"},
    )
    assert response.status_code == 302
    with app.app_context():
        [change] = service.history(the_round(world.round_a))
        assert change.kind == DeadlineKind.EXTENSION and change.contribution_id == world.contribution_a1
        assert change.old_at == old and change.reason == "Their analyst is ill"
    page = admin.get(f"/rounds/{world.round_a}/deadlines").get_data(as_text=True)
    assert "Extension for Reading Community Safety Partnership" in page


def test_submitting_around_the_moved_deadline(app, world, signed_in):
    """The internal deadline had passed; moving the funder's deadline moves it to a few minutes from
    now. One second after the moved deadline is refused; one second before is accepted."""
    complete_everything(app, world.contribution_a1)
    with app.app_context():
        rnd = the_round(world.round_a)
        target = utcnow().replace(second=0, microsecond=0) + timedelta(minutes=3)
        rnd.internal_deadline = target - timedelta(days=1)  # passed a day ago
        rnd.funder_deadline = rnd.funder_deadline.replace(second=0, microsecond=0)
        db.session.commit()
        new_funder = rnd.funder_deadline + timedelta(days=1)
    manager = signed_in("csp_manager")
    url = f"/contributions/{world.contribution_a1}/check-your-answers"
    assert "The deadline has passed" in manager.get(url).get_data(as_text=True)

    admin = signed_in("lead_admin")
    response = post_form(
        admin,
        f"/rounds/{world.round_a}/deadlines/funder",
        {**date_fields("new", new_funder), "move_internal": "y", "reason": "A day more for everyone"},
    )
    assert response.status_code == 302
    with app.app_context():
        deadline = db.session.get(Contribution, world.contribution_a1).deadline
        assert deadline == target
    token = csrf_token(manager, url)
    with time_machine.travel(deadline + timedelta(seconds=1), tick=False):
        response = manager.post(f"/contributions/{world.contribution_a1}/submit", data={"csrf_token": token})
        page = manager.get(response.headers["Location"]).get_data(as_text=True)
    assert "The deadline for contributions has passed" in page
    assert status_of(app, world.contribution_a1) == ContributionStatus.IN_PROGRESS
    with time_machine.travel(deadline - timedelta(seconds=1), tick=False):
        on_time = signed_in("csp_manager")
        response = post_form(on_time, f"/contributions/{world.contribution_a1}/submit", page=url)
        assert response.headers["Location"].endswith("/submitted")
    assert status_of(app, world.contribution_a1) == ContributionStatus.SUBMITTED
    page = admin.get(f"/rounds/{world.round_a}/deadlines").get_data(as_text=True)
    assert "Submitted on time" in page


def test_countdowns_on_the_round_pages_home_and_bid(world, signed_in):
    admin = signed_in("lead_admin")
    for path in ("/rounds", f"/rounds/{world.round_a}", "/home", f"/bid/rounds/{world.round_a}"):
        page = admin.get(path).get_data(as_text=True)
        assert "pb-countdown" in page, path
        assert "27 days left" in page or "28 days left" in page, path  # the funder's deadline
    page = admin.get(f"/rounds/{world.round_a}").get_data(as_text=True)
    assert f"/rounds/{world.round_a}/deadlines" in page and f"/rounds/{world.round_a}/reminders" in page
    page = signed_in("lead_staff").get(f"/rounds/{world.round_a}").get_data(as_text=True)
    assert f"/rounds/{world.round_a}/deadlines" in page and f"/rounds/{world.round_a}/reminders" not in page


def test_setting_the_sign_off_target_places_it_on_the_timeline(app, world, signed_in):
    with app.app_context():
        rnd = the_round(world.round_a)
        target = (rnd.internal_deadline + timedelta(days=7)).replace(second=0, microsecond=0)
    admin = signed_in("lead_admin")
    url = f"/rounds/{world.round_a}/deadlines/sign_off"
    assert "Set the sign-off target" in admin.get(url).get_data(as_text=True)
    response = post_form(admin, url, {**date_fields("new", target), "reason": "The board meets that week"})
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert f"The sign-off target is now {govuk_datetime(target)}" in page
    order = [page.index(x) for x in ("Internal deadline for contributions</h3>", "Sign-off target</h3>",
                                      "Funder’s deadline</h3>")]
    assert order == sorted(order)
    assert "Change the sign-off target" in page
    with app.app_context():
        [change] = service.history(the_round(world.round_a))
        assert (change.kind, change.old_at, change.new_at) == (DeadlineKind.SIGN_OFF, None, target)
    # Shown on the bid too.
    assert govuk_datetime(target) in admin.get(f"/bid/rounds/{world.round_a}").get_data(as_text=True)
