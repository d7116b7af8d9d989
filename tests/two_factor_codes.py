"""Codes from an authenticator app, for tests that sign in through the forms.

The world's lead bidder administrators and staff (who must use two-factor sign-in) have the key
TOTP_SECRET; keys set up through the pages are remembered here by email. A code is never accepted
twice, so each sign-in takes the next time step the service still accepts (now or the one after;
later than the last one the database has accepted), and a fresh recovery code once those two are
used up."""

from __future__ import annotations

import os
import re
import secrets
import time
from functools import cache

import pyotp
from sqlalchemy import create_engine, text

TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105 - a test key
KEY_RE = re.compile(r'data-setup-key>([A-Z2-7 ]+)<')
_secrets: dict[str, str] = {}


def remember(email: str, secret: str) -> None:
    _secrets[email.strip().lower()] = secret.replace(" ", "")


def secret_of(email: str) -> str | None:
    return _secrets.get(email.strip().lower())


def code_at(secret: str, step: int) -> str:
    return pyotp.TOTP(secret).at(step * 30)


@cache
def _engine(url: str):
    return create_engine(url)


def _account(email: str, app=None):
    """(key, key being set up, last time step accepted) of this person, from the test database:
    the database, not this process's memory, says which key is theirs now (a test's database is
    put back after it, with whatever key the world had)."""
    query = text("SELECT totp_secret, totp_pending_secret, totp_last_step FROM user_account WHERE email = :email")
    if app is not None:
        from app.extensions import db

        with app.app_context(), db.engine.connect() as conn:
            return conn.execute(query, {"email": email}).first()
    with _engine(os.environ["TEST_DATABASE_URL"]).connect() as conn:
        return conn.execute(query, {"email": email}).first()


def _run(statement: str, params: dict, app=None):
    if app is not None:
        from app.extensions import db

        with app.app_context(), db.engine.begin() as conn:
            return conn.execute(text(statement), params)
    with _engine(os.environ["TEST_DATABASE_URL"]).begin() as conn:
        return conn.execute(text(statement), params)


def _fresh_recovery_code(email: str, app=None) -> str:
    """A new one-time recovery code for this person, stored as the service stores them (hashed)."""
    from app.services.tokens import hash_token

    code = secrets.token_hex(5)
    _run("INSERT INTO recovery_code (user_id, code_hash, created_at) "
         "SELECT id, :hash, CURRENT_TIMESTAMP FROM user_account WHERE email = :email",
         {"hash": hash_token(code), "email": email}, app)
    return code


def next_code(email: str, app=None) -> str:
    """A code the service has not accepted yet: the app's next code while the service still
    accepts one in this 30 seconds, else a fresh recovery code (so a test may sign the same person
    in any number of times, however fast the machine)."""
    email = email.strip().lower()
    current, pending, last = _account(email, app) or (None, None, None)
    remembered = _secrets.get(email)
    # The key set up through the pages while it is still this person's (being set up, or set up);
    # else the key the database has (the world's, after a test put the database back).
    secret = remembered if remembered and remembered in (current, pending) else (current or pending or TOTP_SECRET)
    # Never the step before now: it stops being accepted as soon as the clock reaches the next
    # step, which on a busy machine can happen before the form is sent. Now's code is accepted
    # for at least the next 30 seconds, the next step's for 60.
    now = int(time.time()) // 30
    step = max(now, last + 1) if last is not None else now
    if step > now + 1:
        return _fresh_recovery_code(email, app)
    return code_at(secret, step)
