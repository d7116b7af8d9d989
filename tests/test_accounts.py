"""Invitations, password resets and the password rules, with email through the real outbox."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import AccountToken, OutboxEmail, Role, User
from app.models.base import utcnow
from app.services.outbox import deliver_due
from app.services.passwords import password_problem
from tests.conftest import csrf_token, post_form, sign_in
from tests.factories import PASSWORD

LINK_RE = re.compile(r"http://localhost(/\S+)")


def deliver(app):
    with app.app_context():
        return deliver_due()


def link_in(message) -> str:
    return LINK_RE.search(message.text).group(1)


def invite(admin, world, email="new.manager@reading.example.org", role="csp_manager", organisation=None):
    return post_form(
        admin,
        "/admin/users/invite",
        {
            "full_name": "Nadia Hussain",
            "email": email,
            "job_title": "Community Safety Manager",
            "organisation": str(organisation or world.csp_a1),
            "role": role,
        },
    )


def test_invitation_email_arrives_and_sets_up_the_account(app, world, signed_in, smtp_server):
    admin = signed_in("lead_admin")
    response = invite(admin, world)
    assert response.status_code == 302

    report = deliver(app)
    assert report.sent == 1
    [message] = smtp_server.to("new.manager@reading.example.org")
    assert message.subject == "You have been invited to Partnership Bid"
    assert "Reading Community Safety Partnership" in message.text
    assert "as a CSP manager for Reading Community Safety Partnership" in message.text
    assert "works once, for 72 hours" in message.text
    link = link_in(message)
    assert link in message.html

    newcomer = app.test_client()
    # Opening the link (as a mail scanner would) shows a form and does not use the token up.
    for _ in range(2):
        page = newcomer.get(link)
        assert page.status_code == 200
        assert "Set your password" in page.get_data(as_text=True)

    token = csrf_token(newcomer, link)
    response = newcomer.post(link, data={"password": "short", "confirm": "short", "csrf_token": token})
    assert response.status_code == 400
    assert "Password must be 12 characters or more" in response.get_data(as_text=True)

    response = newcomer.post(
        link, data={"password": "kestrel lantern orchard", "confirm": "kestrel lantern orchard", "csrf_token": token}
    )
    assert response.status_code == 302
    home = newcomer.get("/home").get_data(as_text=True)
    assert "Reading Community Safety Partnership" in home

    # The link is now spent.
    again = app.test_client().get(link).get_data(as_text=True)
    assert "This invitation link has expired" in again

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "new.manager@reading.example.org"))
        assert user.role == Role.CSP_MANAGER
        assert user.lead_bidder_id == world.lead_a
        assert user.password_hash.startswith("$argon2id$")


def test_tokens_are_stored_hashed(app, world, signed_in, smtp_server):
    invite(signed_in("lead_admin"), world)
    deliver(app)
    raw = link_in(smtp_server.messages[0]).rsplit("/", 1)[1]
    with app.app_context():
        stored = db.session.scalars(select(AccountToken.token_hash)).all()
        outbox_text = db.session.scalar(select(OutboxEmail.body_text).where(OutboxEmail.template == "invitation"))
    assert raw not in stored
    assert len(stored) == 1 and len(stored[0]) == 64
    assert raw in outbox_text  # the email must carry it, of course


def test_invitation_expires(app, world, signed_in, smtp_server):
    invite(signed_in("lead_admin"), world)
    deliver(app)
    link = link_in(smtp_server.messages[0])
    with time_machine.travel(utcnow() + timedelta(hours=72, minutes=1), tick=False):
        page = app.test_client().get(link).get_data(as_text=True)
    assert "This invitation link has expired" in page


def test_resending_an_invitation_replaces_the_old_link(app, world, signed_in, smtp_server):
    admin = signed_in("lead_admin")
    invite(admin, world)
    deliver(app)
    first = link_in(smtp_server.messages[0])
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == "new.manager@reading.example.org"))
    response = post_form(admin, f"/admin/users/{user_id}/resend-invitation", page=f"/admin/users/{user_id}")
    assert response.status_code == 302
    deliver(app)
    second = link_in(smtp_server.messages[1])
    assert first != second
    assert "expired" in app.test_client().get(first).get_data(as_text=True)
    assert "Set your password" in app.test_client().get(second).get_data(as_text=True)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"email": ""}, "email", "Enter an email address"),
        ({"email": "not-an-email"}, "email", "Enter an email address in the correct format, like name@example.com"),
        ({"full_name": ""}, "full_name", "Enter their full name"),
        ({"role": ""}, "role", "Select their role"),
        ({"role": "lead_staff"}, "role", "Choose CSP manager or CSP contributor for someone in a CSP"),
        ({"organisation": "999999"}, "organisation", "Select one of the options shown"),
        ({"email": "admin@a.example.org"}, "email", "A person with this email address already has an account"),
    ],
)
def test_invitation_form_errors_keep_the_input(world, signed_in, overrides, field, message):
    admin = signed_in("lead_admin")
    data = {
        "full_name": "Nadia Hussain",
        "email": "nadia@reading.example.org",
        "job_title": "Analyst",
        "organisation": str(world.csp_a1),
        "role": "csp_manager",
        **overrides,
    }
    response = post_form(admin, "/admin/users/invite", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message.replace("'", "&#39;") in page or message in page
    assert f'href="#{field}"' in page
    if data["full_name"]:
        assert 'value="Nadia Hussain"' in page
    assert 'value="Analyst"' in page


def test_cannot_invite_into_another_lead_bidders_csp(app, world, signed_in):
    response = invite(signed_in("lead_admin"), world, organisation=world.csp_b1)
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "new.manager@reading.example.org")) is None


def test_password_reset_journey(app, world, smtp_server):
    browser = app.test_client()
    response = post_form(browser, "/password-reset", {"email": world.emails["csp_manager"]})
    assert response.headers["Location"] == "/password-reset/check-your-email"
    assert deliver(app).sent == 1
    [message] = smtp_server.to(world.emails["csp_manager"])
    assert message.subject == "Reset your Partnership Bid password"
    link = link_in(message)

    assert browser.get(link).status_code == 200
    assert browser.get(link).status_code == 200  # opening it twice is fine
    token = csrf_token(browser, link)
    response = browser.post(
        link, data={"password": "upland willow nectar", "confirm": "upland willow nectar", "csrf_token": token}
    )
    assert response.status_code == 302
    assert browser.get("/home").status_code == 200

    assert "expired" in app.test_client().get(link).get_data(as_text=True)
    old = post_form(app.test_client(), "/sign-in", {"email": world.emails["csp_manager"], "password": PASSWORD})
    assert old.status_code == 400
    sign_in(app.test_client(), world.emails["csp_manager"], "upland willow nectar")

    deliver(app)
    assert [m.subject for m in smtp_server.to(world.emails["csp_manager"])][-1] == (
        "Your Partnership Bid password has been changed"
    )


def test_password_reset_link_lasts_an_hour(app, world, smtp_server):
    post_form(app.test_client(), "/password-reset", {"email": world.emails["csp_manager"]})
    deliver(app)
    link = link_in(smtp_server.messages[0])
    with time_machine.travel(utcnow() + timedelta(minutes=61), tick=False):
        assert "expired" in app.test_client().get(link).get_data(as_text=True)


def test_unknown_email_gets_the_same_answer_and_no_email(app, world, smtp_server):
    known = post_form(app.test_client(), "/password-reset", {"email": world.emails["csp_manager"]})
    unknown = post_form(app.test_client(), "/password-reset", {"email": "stranger@example.org"})
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    page = app.test_client().get(unknown.headers["Location"]).get_data(as_text=True)
    assert "Check your email" in page
    deliver(app)
    assert [m.rcpt_tos for m in smtp_server.messages] == [[world.emails["csp_manager"]]]


def _statements_of(app, request) -> list[str]:
    """The SQL statements (without their values) that one request runs."""
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine
    statements = []

    def note(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", note)
    try:
        response = request()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return response, statements


def test_a_reset_request_does_the_same_work_for_a_known_and_an_unknown_address(app, world, smtp_server):
    """Timing cannot tell whether an address has an account: the request runs the very same
    statements (queueing one outbox row) either way; the outbox worker decides what to send."""
    requests = {}
    for email in (world.emails["csp_manager"], "stranger@example.org"):
        browser = app.test_client()
        token = csrf_token(browser, "/password-reset")
        requests[email] = _statements_of(
            app, lambda b=browser, e=email, t=token: b.post("/password-reset", data={"email": e, "csrf_token": t})
        )
    (known, known_sql), (unknown, unknown_sql) = requests.values()
    assert known.status_code == unknown.status_code == 302
    assert known_sql == unknown_sql
    assert any(sql.startswith("INSERT INTO outbox_email") for sql in known_sql)
    assert not any("user_account" in sql or "account_token" in sql or "audit_event" in sql for sql in known_sql)
    with app.app_context():
        queued = db.session.scalars(select(OutboxEmail).where(OutboxEmail.template == "password_reset_request")).all()
        assert sorted(row.to_address for row in queued) == sorted(requests)

    # The worker sends the known address its link, and nothing to the unknown one.
    assert deliver(app).sent == 1
    assert [m.rcpt_tos for m in smtp_server.messages] == [[world.emails["csp_manager"]]]
    assert smtp_server.messages[0].subject == "Reset your Partnership Bid password"
    with app.app_context():
        rows = {row.to_address: row for row in db.session.scalars(select(OutboxEmail).where(
            OutboxEmail.to_address.in_(list(requests)), OutboxEmail.last_error.is_distinct_from("Test world")))}
        assert rows["stranger@example.org"].status == "cancelled"
        assert rows[world.emails["csp_manager"]].template == "password_reset"
        assert rows[world.emails["csp_manager"]].lead_bidder_id == world.lead_a
    assert deliver(app).tried == 0  # nothing left, nothing sent twice


def test_reset_for_someone_who_never_accepted_sends_a_fresh_invitation(app, world, signed_in, smtp_server):
    invite(signed_in("lead_admin"), world)
    post_form(app.test_client(), "/password-reset", {"email": "new.manager@reading.example.org"})
    deliver(app)
    subjects = [m.subject for m in smtp_server.to("new.manager@reading.example.org")]
    assert subjects == ["You have been invited to Partnership Bid"] * 2


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short", "Password must be 12 characters or more"),
        ("x" * 129, "Password must be 128 characters or fewer"),
        ("password1234", "Password is too easy to guess"),
        ("qwertyuiopasdfgh", "Password is too easy to guess"),
        ("Password123456!", "Password is too easy to guess"),
        ("aaaaaaaaaaaaaaaa", "Password is too easy to guess"),
        ("nadia.hussain-2018", "Password must not contain your email address"),
        ("kestrel lantern orchard", None),
        ("ALL CAPS no digits is fine", None),
        ("crème brûlée recipe", None),
        ("123456789012", "Password is too easy to guess"),
        ("abcdefghijkl", "Password is too easy to guess"),
    ],
)
def test_password_rules(app, password, problem):
    with app.app_context():
        result = password_problem(password, "nadia.hussain@example.org")
    if problem is None:
        assert result is None
    else:
        assert result is not None and result.startswith(problem)


def test_change_password_checks_the_current_one(world, signed_in):
    staff = signed_in("lead_staff")
    response = post_form(
        staff,
        "/account/password",
        {
            "current_password": "wrong wrong wrong",
            "new_password": "river amber garnet",
            "confirm": "river amber garnet",
        },
    )
    assert response.status_code == 400
    assert "Your current password is incorrect" in response.get_data(as_text=True)


def test_change_password_confirmation_must_match(world, signed_in):
    staff = signed_in("lead_staff")
    response = post_form(
        staff,
        "/account/password",
        {"current_password": PASSWORD, "new_password": "river amber garnet", "confirm": "river amber garnett"},
    )
    assert "Passwords do not match" in response.get_data(as_text=True)


def test_emails_can_be_queued_outside_a_request(app, world, smtp_server):
    """The scheduler and CLI commands queue emails with no request: links still use BASE_URL."""
    from app.services.accounts import request_password_reset

    with app.app_context():
        request_password_reset(world.emails["csp_manager"])
        db.session.commit()
    deliver(app)
    [message] = smtp_server.to(world.emails["csp_manager"])[-1:]
    assert message.subject == "Reset your Partnership Bid password"
    assert link_in(message).startswith("/password-reset/")
