"""Two-factor sign-in: a code from an authenticator app (TOTP, RFC 6238) after the password, or a
one-time recovery code.

- Setting up: a new key is kept on the account as *pending* (start_setup) until the person types a
  first code from their app (confirm_setup), which proves the app has the key; then it becomes the
  account's key and ten recovery codes are made, shown once and stored hashed.
- Signing in: after the right password the browser holds a single-use sign-in token (an
  AccountToken of purpose SIGN_IN, ten minutes), not a session; finish_sign_in() checks the code.
  A code is accepted for its own 30-second step or the one either side (clocks drift), and only
  for a step later than the last one accepted: the same code never works twice.
- Who must use it: app.policy.two_factor_required(). Turning it off, resetting it (an
  administrator) and new recovery codes each write an audit event and email the account's owner.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
from datetime import timedelta

import pyotp
import segno
from flask import current_app
from sqlalchemy import delete, func, or_, select, update

from app.extensions import db
from app.models import RecoveryCode, TokenPurpose, User
from app.models.base import utcnow
from app.policy import require, two_factor_required
from app.services import ServiceError
from app.services.accounts import _issue_token, usable_token
from app.services.audit import record
from app.services.outbox import queue_email
from app.services.passwords import verify_password
from app.services.sessions import end_all_sessions
from app.services.tokens import hash_token

STEP_SECONDS = 30
DIGITS = 6
RECOVERY_CODES = 10
SIGN_IN_MINUTES = 10
# Recovery codes: 10 characters from an alphabet without look-alikes (no 0/o, 1/l/i), shown as xxxxx-xxxxx.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


# --- setting up --------------------------------------------------------------------------------------

def start_setup(user: User) -> None:
    """Make a new key for the person's app to scan (it replaces any key being set up, not the one
    in use: that changes only when a code from the new one is confirmed)."""
    require(user, "account.two_factor", user)
    user.totp_pending_secret = pyotp.random_base32()


def key_for_typing(secret: str) -> str:
    """The key in groups of four, as people type it into an app."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def setup_uri(user: User) -> str:
    """The otpauth:// address the QR code holds (the app shows the service's name and the email)."""
    return pyotp.TOTP(user.totp_pending_secret).provisioning_uri(
        name=user.email, issuer_name=current_app.config["SERVICE_NAME"]
    )


def qr_code_svg(uri: str) -> str:
    """An inline SVG QR code (no image request, nothing for the Content-Security-Policy to allow)."""
    return segno.make(uri, error="m").svg_inline(scale=5, border=2, title="QR code for your authenticator app")


def _clean(code: str | None) -> str:
    return re.sub(r"[\s-]+", "", code or "").lower()


def _matching_step(secret: str, code: str, after: int | None) -> int | None:
    """The time step (now, or one either side) whose code this is, if later than `after`."""
    if not re.fullmatch(rf"\d{{{DIGITS}}}", code):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    now = int(time.time()) // STEP_SECONDS
    for step in (now - 1, now, now + 1):
        if (after is None or step > after) and hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def confirm_setup(user: User, code: str) -> list[str]:
    """Turn two-factor sign-in on with the key being set up, once a code from it is right.
    Returns the new recovery codes (shown once)."""
    require(user, "account.two_factor", user)
    if not user.totp_pending_secret:
        raise ServiceError("Start setting up two-factor sign-in again", field="code")
    step = _matching_step(user.totp_pending_secret, _clean(code), None)
    if step is None:
        raise ServiceError("Enter the 6-digit code your authenticator app shows now", field="code")
    changing = user.has_two_factor
    user.totp_secret, user.totp_pending_secret = user.totp_pending_secret, None
    user.totp_last_step = step
    user.two_factor_enabled_at = utcnow()
    codes = _new_recovery_codes(user)
    what = "changed the authenticator app for" if changing else "turned on"
    record(user, "user.two_factor_enabled", user, f"{user.full_name} {what} two-factor sign-in")
    _email(user, "turned_on" if not changing else "app_changed")
    return codes


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=hash_token(raw)))
    return codes


def new_recovery_codes(user: User) -> list[str]:
    """Replace the person's recovery codes (the old ones stop working). Returns the new ones."""
    require(user, "account.two_factor", user)
    if not user.has_two_factor:
        raise ServiceError("Set up two-factor sign-in first")
    codes = _new_recovery_codes(user)
    record(user, "user.recovery_codes_replaced", user, f"{user.full_name} made new recovery codes")
    _email(user, "recovery_codes_replaced")
    return codes


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(
        select(func.count()).select_from(RecoveryCode).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    )


def _clear(user: User) -> None:
    user.totp_secret = user.totp_pending_secret = user.totp_last_step = user.two_factor_enabled_at = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def turn_off(user: User, password: str) -> None:
    """Turn off the person's own two-factor sign-in (not while it is required of them)."""
    require(user, "account.turn_off_two_factor", user)
    if two_factor_required(user):
        raise ServiceError("Two-factor sign-in is required for your account, so you cannot turn it off",
                           field="password")
    if not verify_password(user.password_hash, password or ""):
        raise ServiceError("Your password is incorrect", field="password")
    if not user.has_two_factor:
        return
    _clear(user)
    record(user, "user.two_factor_disabled", user, f"{user.full_name} turned off two-factor sign-in")
    _email(user, "turned_off")


def reset(actor: User, person: User) -> None:
    """An administrator resets someone's two-factor sign-in (a lost phone): the key and recovery
    codes are deleted and they are signed out everywhere; they set it up again at their next
    sign-in if it is required of them."""
    require(actor, "user.reset_two_factor", person)
    if not person.has_two_factor and not person.totp_pending_secret:
        raise ServiceError(f"{person.full_name} has not set up two-factor sign-in")
    _clear(person)
    end_all_sessions(person)
    record(actor, "user.two_factor_reset", person, f"Reset {person.full_name}'s two-factor sign-in")
    _email(person, "reset", actor=actor)


def _email(user: User, change: str, **context) -> None:
    """Tell the account's owner about a change to their two-factor sign-in (one email per change)."""
    queue_email(
        user.email,
        "two_factor_changed",
        idempotency_key=f"two_factor:{change}:{user.id}:{secrets.token_hex(8)}",
        lead_bidder_id=user.lead_bidder_id,
        user=user,
        change=change,
        **context,
    )


# --- signing in --------------------------------------------------------------------------------------

def begin_sign_in(user: User) -> str:
    """The right password was given: a single-use token that lets this browser give the code."""
    return _issue_token(user, TokenPurpose.SIGN_IN, timedelta(minutes=SIGN_IN_MINUTES))


def pending_user(token: str | None) -> User | None:
    """Whose sign-in this browser is half-way through (the password given, the code awaited)."""
    row = usable_token(token, TokenPurpose.SIGN_IN) if token else None
    return row.user if row is not None and row.user.has_two_factor else None


def check_code(user: User, code: str) -> str | None:
    """'app' or 'recovery code' when the code is right (and now used up), else None.

    Conditional UPDATEs make each code work once, even for two requests at the same moment."""
    code = _clean(code)
    step = _matching_step(user.totp_secret, code, user.totp_last_step) if user.totp_secret else None
    if step is not None:
        done = db.session.execute(
            update(User)
            .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount == 1:
            user.totp_last_step = step
            return "app"
        return None
    if len(code) != 10:
        return None
    used = db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == hash_token(code),
               RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:
        return None
    _email(user, "recovery_code_used", left=recovery_codes_left(user))
    return "recovery code"


def finish_sign_in(token: str, code: str) -> User:
    """The code for a sign-in begun with begin_sign_in(): the user, or a ServiceError. The token is
    used up only when the code is right (the caller counts wrong codes: app/services/throttle.py)."""
    from app.services.accounts import _use_token

    user = pending_user(token)
    if user is None:
        raise ServiceError("Your sign-in has timed out. Sign in again")
    method = check_code(user, code)
    if method is None:
        raise ServiceError("Enter the 6-digit code your authenticator app shows now, or a recovery code",
                           field="code")
    _use_token(token, TokenPurpose.SIGN_IN)
    record(user, "user.signed_in", user, f"{user.full_name} signed in (two-factor: {method})", method=method)
    return user
