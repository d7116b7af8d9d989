"""Signing in and out, sessions, redirects after sign-in, throttling and CSRF."""

from __future__ import annotations

import re
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
        data={"email": world.emails["viewer"], "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/home"


def test_next_inside_the_app_is_followed(client, world):
    token = csrf_token(client, "/sign-in")
    response = client.post(
        "/sign-in?next=/account",
        data={"email": world.emails["viewer"], "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/account"


def test_next_is_followed_after_the_two_factor_code(client, world):
    response = sign_in(client, world.emails["lead_admin"], next_url="/account")
    assert response.headers["Location"] == "/account"


def test_anonymous_user_is_sent_to_sign_in_and_back(client, world):
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert response.headers["Location"] == "/sign-in?next=%2Fadmin%2Fusers"


def _from(app, address: str):
    """A browser at this network address."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _try(client, email: str, password: str):
    token = csrf_token(client, "/sign-in")
    return client.post("/sign-in", data={"email": email, "password": password, "csrf_token": token})


def test_wrong_passwords_slow_down_that_address_but_never_lock_the_account(make_app, world):
    """Knowing a CSP manager's email is not enough to lock them out on deadline day."""
    strict = make_app(SIGN_IN_LIMIT_PER_ACCOUNT_AND_IP="3 per minute;5 per 15 minutes",
                      SIGN_IN_LIMIT_PER_IP="100 per 15 minutes")
    manager = world.emails["csp_manager"]
    attacker, owner = _from(strict, "203.0.113.9"), _from(strict, "198.51.100.7")
    assert [_try(attacker, manager, f"wrong guess {i}!").status_code for i in range(3)] == [400, 400, 400]

    # The guessing address waits, even with the right password; the page says how long.
    held = _try(attacker, manager, PASSWORD)
    assert held.status_code == 429
    page = held.get_data(as_text=True)
    wait = int(re.search(r"Wait (\d+) seconds?, then try again", page).group(1))
    assert 1 <= wait <= 60
    assert f'value="{manager}"' in page  # what was typed is kept
    # The owner, elsewhere, signs in as usual.
    assert _try(owner, manager, PASSWORD).status_code == 302

    # After the wait, the right password works from the guessing address too; the waits grow
    # as the failures go on (the 15-minute limit after 5).
    with time_machine.travel(utcnow() + timedelta(seconds=61), tick=False):
        assert _try(attacker, manager, "wrong again!!").status_code == 400
        assert _try(attacker, manager, "and again!!!").status_code == 400
        longer = _try(attacker, manager, PASSWORD)
        assert longer.status_code == 429
        assert int(re.search(r"Wait (\d+) seconds", longer.get_data(as_text=True)).group(1)) > 60
        assert _try(_from(strict, "198.51.100.7"), manager, PASSWORD).status_code == 302


def test_successful_sign_ins_from_one_address_never_count(make_app, world):
    """An office behind one address: colleagues signing in use nothing up; failures do."""
    strict = make_app(SIGN_IN_LIMIT_PER_IP="4 per 15 minutes")
    office = [world.emails[w] for w in ("csp_manager", "csp_contributor", "other_csp_manager", "viewer")]
    statuses = [_try(_from(strict, "192.0.2.10"), office[i % 4], PASSWORD).status_code for i in range(10)]
    assert statuses == [302] * 10
    wrong = [_try(_from(strict, "192.0.2.10"), f"guess{i}@example.org", "x" * 12).status_code for i in range(5)]
    assert wrong == [400, 400, 400, 400, 429]


def test_the_owner_is_emailed_once_when_their_account_is_being_guessed(app, make_app, world, smtp_server):
    from app.services.outbox import deliver_due

    strict = make_app(SIGN_IN_ALERT_AFTER="3 per hour", SIGN_IN_LIMIT_PER_ACCOUNT_AND_IP="100 per minute")
    manager = world.emails["csp_manager"]
    for i, address in enumerate(["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"]):
        assert _try(_from(strict, address), manager, f"guess number {i}").status_code == 400
        assert _try(_from(strict, address), "nobody@example.org", f"guess number {i}").status_code == 400
    with strict.app_context():
        deliver_due()
    [message] = smtp_server.to(manager)
    assert message.subject == "Someone is trying to sign in to your Partnership Bid account"
    assert "more than 3 failed attempts" in message.text
    assert "Your account has not been locked" in message.text
    assert smtp_server.to("nobody@example.org") == []

    # More guesses in the same hour: no more emails.
    for i in range(5):
        _try(_from(strict, "203.0.113.5"), manager, f"more guesses {i}")
    with strict.app_context():
        deliver_due()
    assert len(smtp_server.to(manager)) == 1
    assert _try(_from(strict, "198.51.100.7"), manager, PASSWORD).status_code == 302


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


# A separate process (another gunicorn worker, another server) asking the same Redis whether this
# address may try again: a wrong-password count kept in one worker's memory would let it through.
_OTHER_WORKER = """
import sys
from app import create_app
from tests.test_auth import _from, _try
app = create_app("testing", RATELIMIT_STORAGE_URI=sys.argv[1], RATELIMIT_KEY_PREFIX=sys.argv[2],
                 SIGN_IN_LIMIT_PER_ACCOUNT_AND_IP="3 per minute", SIGN_IN_LIMIT_PER_IP="100 per 15 minutes")
print(_try(_from(app, sys.argv[3]), sys.argv[4], sys.argv[5]).status_code)
"""


def test_wrong_passwords_counted_in_redis_slow_that_address_in_every_worker(make_app, world):
    """Production keeps the counts in Redis (as on this machine, at TEST_REDIS_URL), shared by
    every worker: the guessing address waits whichever worker it reaches; the owner does not."""
    import os
    import secrets
    import subprocess
    import sys
    from pathlib import Path

    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
    prefix = f"test-{secrets.token_hex(4)}"  # counts of this test alone
    strict = make_app(RATELIMIT_STORAGE_URI=redis_url, RATELIMIT_KEY_PREFIX=prefix,
                      SIGN_IN_LIMIT_PER_ACCOUNT_AND_IP="3 per minute", SIGN_IN_LIMIT_PER_IP="100 per 15 minutes")
    manager = world.emails["csp_manager"]
    assert [_try(_from(strict, "203.0.113.9"), manager, f"wrong guess {i}!").status_code
            for i in range(3)] == [400, 400, 400]

    def other_worker(address: str) -> int:
        out = subprocess.run([sys.executable, "-c", _OTHER_WORKER, redis_url, prefix, address, manager, PASSWORD],
                             cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True,
                             env=os.environ | {"FLASK_DEBUG": "0"}, check=False)
        assert out.returncode == 0, out.stderr[-3000:]
        return int(out.stdout.strip().splitlines()[-1])

    assert other_worker("203.0.113.9") == 429  # the right password waits, in another process too
    assert other_worker("198.51.100.7") == 302  # the owner, elsewhere, signs in
