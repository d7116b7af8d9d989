"""The session time-out warning's server side: the dialog's markup on signed-in pages and the
"Stay signed in" POST (the browser test, tests/browser/test_timeout_warning.py, drives the dialog)."""

from __future__ import annotations

import re
from datetime import timedelta

import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import UserSession
from app.models.base import utcnow
from tests.conftest import CSRF_RE, sign_in


def _seen(app, user_id):
    with app.app_context():
        return db.session.scalar(select(UserSession.last_seen_at).where(UserSession.user_id == user_id))


def test_signed_in_pages_carry_the_warning_and_signed_out_pages_do_not(app, client, world):
    assert "timeout-warning" not in client.get("/sign-in").get_data(as_text=True)
    sign_in(client, world.emails["csp_manager"])
    body = client.get("/home").get_data(as_text=True)
    dialog = re.search(r'<dialog[^>]*id="timeout-warning"[^>]*>', body).group(0)
    idle = app.config["SESSION_IDLE_MINUTES"] * 60
    left = int(re.search(r'data-seconds-left="(\d+)"', dialog).group(1))
    assert idle - 5 <= left <= idle
    assert f'data-warning-seconds="{app.config["SESSION_WARNING_SECONDS"]}"' in dialog
    assert 'aria-labelledby="timeout-warning-title"' in dialog
    assert 'action="/session/stay-signed-in"' in body


def test_stay_signed_in_is_a_post_with_the_security_token_that_starts_the_idle_time_again(app, client, world):
    sign_in(client, world.emails["csp_manager"])
    token = CSRF_RE.search(client.get("/home").get_data(as_text=True)).group(1)
    before = _seen(app, world.users["csp_manager"])
    idle = app.config["SESSION_IDLE_MINUTES"]
    assert client.get("/session/stay-signed-in").status_code == 405  # a GET never writes

    with time_machine.travel(utcnow() + timedelta(minutes=idle - 1), tick=False):
        refused = client.post("/session/stay-signed-in", headers={"Accept": "application/json"})
        assert refused.status_code == 400  # no security token
        response = client.post(
            "/session/stay-signed-in", data={"csrf_token": token}, headers={"Accept": "application/json"}
        )
        assert response.status_code == 200 and response.json["seconds_left"] == idle * 60
        # A fresh security token for the page's forms (the page's own may be past its time).
        fresh = response.json["csrf_token"]
        assert fresh != token
        again = client.post(
            "/session/stay-signed-in", data={"csrf_token": fresh}, headers={"Accept": "application/json"}
        )
        assert again.status_code == 200
        assert _seen(app, world.users["csp_manager"]) - before >= timedelta(minutes=idle - 1)
        # Without JavaScript the form comes back to the page it was sent from.
        back = client.post("/session/stay-signed-in", data={"csrf_token": token, "next": "/home"})
        assert back.status_code == 302 and back.headers["Location"] == "/home"
        elsewhere = client.post("/session/stay-signed-in", data={"csrf_token": token, "next": "//evil.example/x"})
        assert elsewhere.headers["Location"] == "/home"
    # The session lasts the full idle time from then, not from before.
    with time_machine.travel(utcnow() + timedelta(minutes=idle + idle // 2), tick=False):
        assert client.get("/home").status_code == 200


def test_after_the_time_out_stay_signed_in_cannot_bring_the_session_back(app, client, world):
    sign_in(client, world.emails["csp_manager"])
    token = CSRF_RE.search(client.get("/home").get_data(as_text=True)).group(1)
    with time_machine.travel(utcnow() + timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1), tick=False):
        response = client.post("/session/stay-signed-in", data={"csrf_token": token})
        assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")
