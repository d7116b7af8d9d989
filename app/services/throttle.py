"""Slowing down password (and two-factor code) guessing without letting anyone lock someone out.

- Only failures count. A right password never uses up anything, so an office of many people
  behind one address is never stopped by its colleagues signing in.
- Failures are counted per account *and* address: after a few wrong tries from one address, that
  address waits ("try again in 40 seconds"), longer as the failures go on (the limits in
  SIGN_IN_LIMIT_PER_ACCOUNT_AND_IP, e.g. 5 a minute, 10 in 15 minutes, 20 an hour). The account
  itself is never locked: its owner signs in from their own address as usual, whoever is
  guessing elsewhere.
- Failures per address, whatever the account (SIGN_IN_LIMIT_PER_IP), stop one address spraying
  guesses across many accounts (Flask-Limiter's decorator on the routes, counting failures only).
- When an account has had SIGN_IN_ALERT_AFTER failures (from any address), its owner is emailed,
  through the outbox, once per period of that limit.

The counters live in Flask-Limiter's storage: Redis in production (shared by every worker),
memory:// in development and tests.
"""

from __future__ import annotations

import math
import time

from flask import current_app
from limits import RateLimitItem, parse_many

from app.extensions import limiter
from app.services.accounts import find_user_by_email, normalise_email
from app.services.outbox import queue_email

SIGN_IN = "sign-in"
TWO_FACTOR = "two-factor"


def _limits(setting: str) -> list[RateLimitItem]:
    return parse_many(current_app.config[setting])


def _on() -> bool:
    return current_app.config.get("RATELIMIT_ENABLED", True)


def wait_seconds(kind: str, email: str, address: str | None) -> int:
    """Seconds before this address may try this account again (0: it may try now)."""
    if not _on():
        return 0
    key = (kind, normalise_email(email), address or "unknown")
    wait = 0.0
    for item in _limits("SIGN_IN_LIMIT_PER_ACCOUNT_AND_IP"):
        if not limiter.limiter.test(item, *key):
            reset_at, _ = limiter.limiter.get_window_stats(item, *key)
            wait = max(wait, reset_at - time.time())
    return max(1, math.ceil(wait)) if wait > 0 else 0


def failed(kind: str, email: str, address: str | None) -> None:
    """Count a wrong password (or code) for this account from this address; warn the account's
    owner when their account is being guessed. Writes at most one outbox row; the caller commits."""
    if not _on():
        return
    email = normalise_email(email)
    key = (kind, email, address or "unknown")
    for item in _limits("SIGN_IN_LIMIT_PER_ACCOUNT_AND_IP"):
        limiter.limiter.hit(item, *key)
    alert = _limits("SIGN_IN_ALERT_AFTER")[0]
    if limiter.limiter.hit(alert, "sign-in-alert", email):
        return
    user = find_user_by_email(email)
    if user is None or not user.active:
        return
    period = alert.get_expiry()
    # One email per period of the limit, however many more guesses come (the key is unique).
    queue_email(
        user.email,
        "sign_in_attempts",
        idempotency_key=f"sign_in_attempts:{user.id}:{int(time.time() // period)}",
        lead_bidder_id=user.lead_bidder_id,
        user=user,
        attempts=alert.amount,
        period=_period_words(period),
    )


def _period_words(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "hour" if hours == 1 else f"{hours} hours"
    minutes = max(1, seconds // 60)
    return "minute" if minutes == 1 else f"{minutes} minutes"
