"""Signing in and out, sessions, redirects after sign-in, throttling and CSRF."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import User, UserSession
from app.models.base import utcnow
from tests.conftest import csrf_token, post_form, sign_in
from tests.factories import PASSWORD


def test_sign_in_with_correct_details_shows_home(client, world):
    response = sign_in(client, world.emails["lead_admin"])
    assert response.headers["Location"] == "/home"
    page = client.get("/home").get_data(as_text=True)
    assert "Thames Valley OPCC" in page
    assert "Welcome, " in page


def test_wrong_password_says_so_and_keeps_the_email(client, world):
    token = csrf_token(client, "/sign-in")
    response = client.post(
        "/sign-in", data={"email": world.emails["lead_admin"], "password": "not the password", "csrf_token": token}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<title>Error: Sign in" in page
    assert "There is a problem" in page
    assert "Enter a correct email address and password" in page
    summary = page.split('govuk-error-summary__list">')[1].split("</ul>")[0]
    assert summary.count("Enter a correct email address and password") == 1  # listed once
    assert f'value="{world.emails["lead_admin"]}"' in page
    assert "not the password" not in page  # the password is never echoed back


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(client, world):
    token = csrf_token(client, "/sign-in")
    unknown = client.post("/sign-in", data={"email": "nobody@example.org", "password": "x" * 12, "csrf_token": token})
    known = client.post(
        "/sign-in", data={"email": world.emails["lead_admin"], "password": "x" * 12, "csrf_token": token}
    )
    assert unknown.status_code == known.status_code == 400
    assert "Enter a correct email address and password" in unknown.get_data(as_text=True)


def test_empty_form_gets_one_message_per_field(client, world):
    response = post_form(client, "/sign-in", {"email": "", "password": ""})
    page = response.get_data(as_text=True)
    assert "Enter an email address" in page
    assert "Enter your password" in page
    assert 'href="#email"' in page and 'href="#password"' in page


def test_email_is_case_and_space_insensitive(client, world):
    sign_in(client, "  " + world.emails["lead_admin"].upper() + " ")
    assert client.get("/home").status_code == 200


def test_deactivated_user_cannot_sign_in(app, client, world):
    with app.app_context():
        db.session.get(User, world.users["lead_staff"]).active = False
        db.session.commit()
    response = post_form(client, "/sign-in", {"email": world.emails["lead_staff"], "password": PASSWORD})
    assert response.status_code == 400


def test_sign_in_renews_the_session(client, world):
    client.get("/sign-in")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    sign_in(client, world.emails["lead_admin"])
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("_user_id")


def test_signing_out_makes_the_old_cookie_useless(app, world):
    browser = app.test_client()
    sign_in(browser, world.emails["lead_admin"])
    stolen = browser.get_cookie("session").value

    post_form(browser, "/sign-out", page="/home")
    assert browser.get("/home").status_code == 302

    replay = app.test_client()
    replay.set_cookie("session", stolen)
    response = replay.get("/home")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in")


def test_changing_password_makes_old_cookies_useless_but_keeps_this_browser(app, world):
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, world.emails["lead_admin"])
    sign_in(phone, world.emails["lead_admin"])
    old_laptop_cookie = laptop.get_cookie("session").value

    response = post_form(
        laptop,
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": "a much longer new passphrase",
            "confirm": "a much longer new passphrase",
        },
    )
    assert response.status_code == 302
    assert laptop.get("/home").status_code == 200  # this browser got a fresh session
    assert phone.get("/home").status_code == 302  # everywhere else is signed out

    replay = app.test_client()
    replay.set_cookie("session", old_laptop_cookie)
    assert replay.get("/home").status_code == 302


def test_deactivating_a_user_ends_their_sessions(app, world, signed_in):
    staff = signed_in("lead_staff")
    assert staff.get("/home").status_code == 200
    admin = signed_in("lead_admin")
    response = post_form(admin, f"/admin/users/{world.users['lead_staff']}/deactivate")
    assert response.status_code == 302
    assert staff.get("/home").status_code == 302
    with app.app_context():
        assert (
            db.session.scalars(select(UserSession).where(UserSession.user_id == world.users["lead_staff"])).all() == []
        )


def test_idle_session_expires(app, world):
    browser = app.test_client()
    sign_in(browser, world.emails["lead_admin"])
    idle = app.config["SESSION_IDLE_MINUTES"]
    with time_machine.travel(utcnow() + timedelta(minutes=idle + 1), tick=False):
        assert browser.get("/home").status_code == 302


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/home",
        "/\\evil.example",
        "\\\\evil.example",
        "https://evil.example/",
        "http://localhost/home",
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "/\r\nLocation: https://evil.example",
        "/\tevil",
        " //evil.example",
        "///evil.example",
        "evil.example",
    ],
)
def test_next_never_leaves_the_app(client, world, target):
    token = csrf_token(client, "/sign-in")
    response = client.post(
        "/sign-in",
        query_string={"next": target},
        data={"email": world.emails["lead_admin"], "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/home"


def test_next_inside_the_app_is_followed(client, world):
    token = csrf_token(client, "/sign-in")
    response = client.post(
        "/sign-in?next=/account",
        data={"email": world.emails["lead_admin"], "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/account"


def test_anonymous_user_is_sent_to_sign_in_and_back(client, world):
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert response.headers["Location"] == "/sign-in?next=%2Fadmin%2Fusers"


def test_sign_in_is_throttled_per_account(make_app, world):
    strict = make_app(SIGN_IN_LIMIT_PER_ACCOUNT="3 per 15 minutes", SIGN_IN_LIMIT_PER_IP="100 per 15 minutes")
    client = strict.test_client()
    token = csrf_token(client, "/sign-in")
    for _ in range(3):
        bad = client.post(
            "/sign-in", data={"email": world.emails["viewer"], "password": "wrong" * 3, "csrf_token": token}
        )
        assert bad.status_code == 400
    blocked = client.post("/sign-in", data={"email": world.emails["viewer"], "password": PASSWORD, "csrf_token": token})
    assert blocked.status_code == 429
    page = blocked.get_data(as_text=True)
    assert "Too many attempts" in page and "Wait 15 minutes" in page
    # Another account from the same place is not locked out by the per-account limit.
    ok = client.post("/sign-in", data={"email": world.emails["lead_admin"], "password": PASSWORD, "csrf_token": token})
    assert ok.status_code == 302


def test_sign_in_is_throttled_per_ip(make_app, world):
    strict = make_app(SIGN_IN_LIMIT_PER_ACCOUNT="100 per 15 minutes", SIGN_IN_LIMIT_PER_IP="4 per 15 minutes")
    client = strict.test_client()
    token = csrf_token(client, "/sign-in")
    statuses = [
        client.post(
            "/sign-in", data={"email": f"guess{i}@example.org", "password": "x" * 12, "csrf_token": token}
        ).status_code
        for i in range(5)
    ]
    assert statuses == [400, 400, 400, 400, 429]


def test_form_without_csrf_token_changes_nothing(client, world):
    response = client.post("/sign-in", data={"email": world.emails["lead_admin"], "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/home").status_code == 302


def test_expired_csrf_token_keeps_what_the_user_typed(app, signed_in, world):
    admin = signed_in("lead_admin")
    token = csrf_token(admin, "/admin/users/invite")
    later = utcnow() + timedelta(seconds=app.config["WTF_CSRF_TIME_LIMIT"] + 60)
    with time_machine.travel(later, tick=False):
        response = admin.post(
            "/admin/users/invite",
            data={
                "full_name": "Jo Bloggs",
                "email": "jo.bloggs@reading.example.org",
                "job_title": "Youth Offending Team Manager",
                "organisation": str(world.csp_a1),
                "role": "csp_manager",
                "csrf_token": token,
            },
        )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "This page timed out for your security. We have kept what you entered" in page
    assert 'value="Jo Bloggs"' in page
    assert 'value="jo.bloggs@reading.example.org"' in page
    assert 'value="Youth Offending Team Manager"' in page
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "jo.bloggs@reading.example.org")) is None
    # Submitting again from the re-shown page (with its fresh token) works.
    fresh = csrf_token_from(page)
    with time_machine.travel(later + timedelta(seconds=5), tick=False):
        again = admin.post(
            "/admin/users/invite",
            data={
                "full_name": "Jo Bloggs",
                "email": "jo.bloggs@reading.example.org",
                "organisation": str(world.csp_a1),
                "role": "csp_manager",
                "csrf_token": fresh,
            },
        )
    assert again.status_code == 302


def csrf_token_from(page: str) -> str:
    from tests.conftest import CSRF_RE

    return CSRF_RE.search(page).group(1)


def test_security_headers(client):
    response = client.get("/sign-in")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in response.get_data(as_text=True)


def test_a_busy_user_stays_signed_in_all_day_and_night(app, world):
    """Only idleness signs people out: someone working from 9am to midnight keeps their session."""
    browser = app.test_client()
    sign_in(browser, world.emails["csp_manager"])
    start = utcnow()
    for hour in range(1, 16):
        with time_machine.travel(start + timedelta(hours=hour), tick=False):
            assert browser.get("/home").status_code == 200, f"signed out after {hour} hours"
