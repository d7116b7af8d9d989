"""Two-factor sign-in (authenticator app codes and recovery codes), who must use it, resetting it,
and the account page's list of sessions. Emails go through the real outbox to the test SMTP server."""

from __future__ import annotations

import re
import time

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Organisation, RecoveryCode, User, UserSession
from app.services.outbox import deliver_due
from tests.conftest import csrf_token, post_form, set_up_two_factor, sign_in
from tests.factories import PASSWORD
from tests.two_factor_codes import TOTP_SECRET, code_at, next_code, secret_of


def deliver(app):
    with app.app_context():
        return deliver_due()


def _password(client, email: str, password: str = PASSWORD):
    token = csrf_token(client, "/sign-in")
    return client.post("/sign-in", data={"email": email, "password": password, "csrf_token": token})


def _code(client, code: str):
    token = csrf_token(client, "/sign-in/two-factor")
    return client.post("/sign-in/two-factor", data={"code": code, "csrf_token": token})


def _cookie_session(app, client) -> dict:
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    return app.session_interface.get_signing_serializer(app).loads(cookie.value) if cookie else {}


def test_someone_sets_it_up_from_their_account_and_then_signs_in_with_a_code(app, world, signed_in, smtp_server):
    email = world.emails["csp_manager"]
    manager = signed_in("csp_manager")
    assert "Two-factor sign-in" in manager.get("/account").get_data(as_text=True)
    post_form(manager, "/account/two-factor/start", page="/account/two-factor")
    page = manager.get("/account/two-factor/set-up").get_data(as_text=True)
    assert "<svg" in page and "QR code for your authenticator app" in page  # the QR code, inline
    key = re.search(r"data-setup-key>([A-Z2-7 ]+)<", page).group(1).replace(" ", "")
    # A wrong code keeps it off, with a GOV.UK error.
    wrong = post_form(manager, "/account/two-factor/set-up", {"code": "000000"})
    assert wrong.status_code == 400 and "Enter the 6-digit code your authenticator app shows now" in wrong.get_data(
        as_text=True)
    now = int(time.time()) // 30
    done = post_form(manager, "/account/two-factor/set-up", {"code": code_at(key, now)})
    html = done.get_data(as_text=True)
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    codes = re.findall(r"<code>([a-z0-9-]+)</code>", html)
    assert len(codes) == 10 and len(set(codes)) == 10
    # Shown once: stored only as hashes, never in the session cookie, not on the next page.
    with app.app_context():
        stored = db.session.scalars(select(RecoveryCode.code_hash)).all()
        user = db.session.get(User, world.users["csp_manager"])
        assert user.totp_secret == key and user.totp_pending_secret is None
    assert not any(code.replace("-", "") in h or code in h for code in codes for h in stored)
    assert not any(code in repr(_cookie_session(app, manager)) for code in codes)
    assert not any(code in manager.get("/account/two-factor").get_data(as_text=True) for code in codes)

    deliver(app)
    assert [m.subject for m in smtp_server.to(email)] == [
        "Two-factor sign-in has been turned on for your Partnership Bid account"
    ]

    # Signing in now takes the password, then a code; in between, nobody is signed in.
    browser = app.test_client()
    first = _password(browser, email)
    assert first.headers["Location"] == "/sign-in/two-factor"
    assert "_user_id" not in _cookie_session(app, browser)
    assert browser.get("/home").headers["Location"].startswith("/sign-in")
    assert browser.get("/sign-in/two-factor").status_code == 200
    bad = _code(browser, "123456")
    assert bad.status_code == 400
    assert "Enter the 6-digit code your authenticator app shows now, or a recovery code" in bad.get_data(as_text=True)
    assert browser.get("/home").headers["Location"].startswith("/sign-in")
    ok = _code(browser, code_at(key, now + 1))  # a later step than the one used to set it up
    assert ok.status_code == 302 and ok.headers["Location"] == "/home"
    assert browser.get("/home").status_code == 200


def test_a_code_is_never_accepted_twice(app, world):
    email = world.emails["lead_admin"]
    code = next_code(email, app)
    first = app.test_client()
    _password(first, email)
    assert _code(first, code).status_code == 302
    # Someone who saw the code over a shoulder, with the password too: refused.
    second = app.test_client()
    _password(second, email)
    assert _code(second, code).status_code == 400
    assert second.get("/home").status_code == 302
    # An earlier code than the last one used is refused too.
    with app.app_context():
        last = db.session.get(User, world.users["lead_admin"]).totp_last_step
    assert _code(second, code_at(TOTP_SECRET, last - 1)).status_code == 400


def test_each_recovery_code_works_once(app, world, signed_in, smtp_server):
    email = world.emails["csp_contributor"]
    codes = set_up_two_factor(signed_in("csp_contributor"), email)
    browser = app.test_client()
    _password(browser, email)
    assert _code(browser, codes[0].upper().replace("-", " ")).status_code == 302  # typed loosely
    again = app.test_client()
    _password(again, email)
    assert _code(again, codes[0]).status_code == 400
    assert _code(again, codes[1]).status_code == 302
    deliver(app)
    used = [m for m in smtp_server.to(email) if m.subject.startswith("A recovery code was used")]
    assert len(used) == 2 and "you have 8 left" in used[-1].text


def test_the_code_page_is_slowed_down_like_the_password(make_app, world):
    strict = make_app(SIGN_IN_LIMIT_PER_ACCOUNT_AND_IP="3 per minute", SIGN_IN_LIMIT_PER_IP="100 per minute")
    email = world.emails["lead_staff"]
    browser = strict.test_client()
    _password(browser, email)
    assert [_code(browser, f"00000{i}").status_code for i in range(3)] == [400, 400, 400]
    held = _code(browser, next_code(email, strict))
    assert held.status_code == 429
    assert re.search(r"Wait \d+ seconds?, then try again", held.get_data(as_text=True))
    assert browser.get("/home").status_code == 302


def test_lead_staff_without_it_must_set_it_up_before_anything_else(app, world):
    with app.app_context():
        db.session.get(User, world.users["lead_staff"]).totp_secret = None
        db.session.commit()
    email = world.emails["lead_staff"]
    browser = app.test_client()
    assert _password(browser, email).headers["Location"] == "/home"
    for path in ("/home", f"/rounds/{world.round_a}", "/account", "/account/calendar"):
        response = browser.get(path)
        assert response.status_code == 302 and response.headers["Location"] == "/account/two-factor", path
    page = browser.get("/account/two-factor").get_data(as_text=True)
    assert "You need to set up two-factor sign-in before you can continue" in page
    set_up_two_factor(browser, email)
    assert browser.get("/home").status_code == 200
    # Required for their role: it cannot be turned off.
    refused = post_form(browser, "/account/two-factor/turn-off", {"password": PASSWORD})
    assert refused.status_code == 400
    assert "Two-factor sign-in is required for your account" in refused.get_data(as_text=True)
    # Next time: password, then a code from the app they set up.
    again = app.test_client()
    assert _password(again, email).headers["Location"] == "/sign-in/two-factor"
    assert secret_of(email)


def test_an_administrator_can_require_it_for_everyone_at_a_csp(app, world, signed_in):
    manager = signed_in("csp_manager")
    other = signed_in("other_csp_manager")
    admin = signed_in("lead_admin")
    page = admin.get(f"/admin/csps/{world.csp_a1}").get_data(as_text=True)
    assert "Must everyone at this partnership use two-factor sign-in?" in page
    response = post_form(admin, f"/admin/csps/{world.csp_a1}/two-factor", {"required": "yes"},
                         page=f"/admin/csps/{world.csp_a1}")
    assert response.status_code == 302
    assert "Required for everyone" in admin.get(f"/admin/csps/{world.csp_a1}").get_data(as_text=True)
    # Everyone at that CSP (already signed in or not) must set it up first; other CSPs are untouched.
    assert manager.get("/home").headers["Location"] == "/account/two-factor"
    assert other.get("/home").status_code == 200
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "csp.two_factor_required"))
        assert event.actor_id == world.users["lead_admin"] and event.object_id == world.csp_a1
        assert db.session.get(Organisation, world.csp_a1).two_factor_required
    # Only administrators may.
    staff = signed_in("lead_staff")
    assert post_form(staff, f"/admin/csps/{world.csp_a1}/two-factor", {"required": "no"},
                     page="/account").status_code == 403


def test_an_administrator_resets_it_with_an_audit_event_and_an_email(app, world, signed_in, smtp_server):
    staff = signed_in("lead_staff")
    admin = signed_in("lead_admin")
    person = f"/admin/users/{world.users['lead_staff']}"
    assert "Reset two-factor sign-in" in admin.get(person).get_data(as_text=True)
    response = post_form(admin, f"{person}/two-factor/reset", page=person)
    assert response.status_code == 302
    assert staff.get("/home").status_code == 302  # signed out everywhere
    with app.app_context():
        user = db.session.get(User, world.users["lead_staff"])
        assert user.totp_secret is None
        assert db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)).all() == []
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.two_factor_reset"))
        assert event.actor_id == world.users["lead_admin"] and event.object_id == user.id
    deliver(app)
    [message] = smtp_server.to(world.emails["lead_staff"])
    assert message.subject == "Your two-factor sign-in has been reset for your Partnership Bid account"
    # Their next sign-in: the password, then setting it up again.
    browser = app.test_client()
    assert _password(browser, world.emails["lead_staff"]).headers["Location"] == "/home"
    assert browser.get("/home").headers["Location"] == "/account/two-factor"
    # Administrators cannot reset their own.
    own = f"/admin/users/{world.users['lead_admin']}"
    assert post_form(admin, f"{own}/two-factor/reset", page=own).status_code == 403


def test_someone_can_turn_it_off_with_their_password_and_is_emailed(app, world, signed_in, smtp_server):
    email = world.emails["csp_manager"]
    manager = signed_in("csp_manager")
    set_up_two_factor(manager, email)
    wrong = post_form(manager, "/account/two-factor/turn-off", {"password": "not my password"})
    assert wrong.status_code == 400 and "Your password is incorrect" in wrong.get_data(as_text=True)
    assert post_form(manager, "/account/two-factor/turn-off", {"password": PASSWORD}).status_code == 302
    assert _password(app.test_client(), email).headers["Location"] == "/home"
    deliver(app)
    assert [m.subject for m in smtp_server.to(email)] == [
        "Two-factor sign-in has been turned on for your Partnership Bid account",
        "Two-factor sign-in has been turned off for your Partnership Bid account",
    ]


# --- sessions and change emails -------------------------------------------------------------------

def test_the_account_page_lists_sessions_and_signs_out_the_others(app, world):
    email = world.emails["csp_manager"]
    laptop, phone = app.test_client(), app.test_client()
    laptop.environ_base["HTTP_USER_AGENT"] = "Mozilla/5.0 (Windows NT 10.0) Edge/130"
    phone.environ_base["HTTP_USER_AGENT"] = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0) Safari"
    sign_in(laptop, email)
    sign_in(phone, email)
    page = laptop.get("/account").get_data(as_text=True)
    sessions = page.split("data-sessions")[1].split("</table>")[0]
    assert "Windows NT 10.0" in sessions and "iPhone" in sessions
    assert "Last used" in sessions
    row = next(r for r in sessions.split("<tr") if "Windows" in r)
    assert "This browser" in row
    assert sessions.count("This browser") == 1

    response = post_form(laptop, "/account/sessions/sign-out-others", page="/account", follow_redirects=True)
    assert "You have been signed out of 1 other browser" in response.get_data(as_text=True)
    assert phone.get("/home").status_code == 302
    assert laptop.get("/home").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.signed_out_elsewhere"))


def test_changing_the_password_emails_the_owner(app, world, signed_in, smtp_server):
    staff = signed_in("lead_staff")
    response = post_form(staff, "/account/password", {
        "current_password": PASSWORD, "new_password": "river amber garnet", "confirm": "river amber garnet"})
    assert response.status_code == 302
    deliver(app)
    [message] = smtp_server.to(world.emails["lead_staff"])
    assert message.subject == "Your Partnership Bid password has been changed"


def test_changing_someones_email_address_emails_both_addresses(app, world, signed_in, smtp_server):
    from tests.test_accounts import link_in

    old = world.emails["csp_manager"]
    # A reset link already on its way to the old address must stop working.
    post_form(app.test_client(), "/password-reset", {"email": old})
    deliver(app)
    reset_link = link_in(smtp_server.to(old)[0])
    smtp_server.clear()

    admin = signed_in("lead_admin")
    url = f"/admin/users/{world.users['csp_manager']}/edit"
    taken = post_form(admin, url, {"full_name": "Person", "email": world.emails["viewer"],
                                   "organisation": str(world.csp_a1), "role": "csp_manager"})
    assert taken.status_code == 400
    assert "A person with this email address already has an account" in taken.get_data(as_text=True)
    response = post_form(admin, url, {"full_name": "Person", "email": "New.Address@Reading.example.org",
                                      "organisation": str(world.csp_a1), "role": "csp_manager"})
    assert response.status_code == 302
    deliver(app)
    [to_old] = smtp_server.to(old)
    [to_new] = smtp_server.to("new.address@reading.example.org")
    assert to_old.subject == "The email address of your Partnership Bid account has been changed"
    assert "new.address@reading.example.org" in to_old.text
    assert to_new.subject == "You now sign in to Partnership Bid with this email address"
    assert "expired" in app.test_client().get(reset_link).get_data(as_text=True)
    assert _password(app.test_client(), "new.address@reading.example.org").status_code == 302
    assert _password(app.test_client(), old).status_code == 400
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.updated"))
        assert event.detail["changes"]["email"] == [old, "new.address@reading.example.org"]


def test_a_password_reset_link_does_not_skip_the_second_factor(app, world, smtp_server):
    from tests.test_accounts import link_in

    email = world.emails["lead_admin"]
    post_form(app.test_client(), "/password-reset", {"email": email})
    deliver(app)
    link = link_in(smtp_server.to(email)[0])
    browser = app.test_client()
    token = csrf_token(browser, link)
    response = browser.post(link, data={"password": "upland willow nectar", "confirm": "upland willow nectar",
                                        "csrf_token": token})
    assert response.headers["Location"] == "/sign-in/two-factor"
    assert browser.get("/home").headers["Location"].startswith("/sign-in")
    assert _code(browser, next_code(email, app)).headers["Location"] == "/home"
    assert browser.get("/home").status_code == 200
