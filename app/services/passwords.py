"""Password hashing (argon2id) and the password rules: 12 to 128 characters, no composition
rules, not on a deny-list of common passwords."""

from __future__ import annotations

import re
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

MIN_LENGTH = 12
MAX_LENGTH = 128


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return _cached_hasher(cfg["ARGON2_TIME_COST"], cfg["ARGON2_MEMORY_COST"], cfg["ARGON2_PARALLELISM"])


@lru_cache(maxsize=4)
def _cached_hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        # Spend the same effort as a real check, so timing does not reveal unknown accounts.
        _hasher().hash(password)
        return False
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)


@lru_cache(maxsize=1)
def _deny_list() -> frozenset[str]:
    # zxcvbn ships the 30,000 most common passwords from real breaches.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    words = set(FREQUENCY_LISTS["passwords"])
    words.update({"partnershipbid", "partnership bid", "communitysafety", "policeandcrime"})
    return frozenset(words)


def password_problem(password: str, email: str | None = None) -> str | None:
    """The GOV.UK-style error message for a password that is not allowed, or None."""
    if len(password) < MIN_LENGTH:
        return f"Password must be {MIN_LENGTH} characters or more"
    if len(password) > MAX_LENGTH:
        return f"Password must be {MAX_LENGTH} characters or fewer"
    lowered = password.lower()
    if email:
        local = email.split("@", 1)[0].lower()
        if len(local) >= 4 and local in lowered:
            return "Password must not contain your email address"
    core = re.sub(r"[\d\W_]+$", "", lowered)  # "password123!" is as weak as "password"
    deny = _deny_list()
    if (
        lowered in deny
        or (len(core) >= 4 and core in deny)
        or _estimated_guesses_log10(password, email) < MIN_GUESSES_LOG10
    ):
        return "Password is too easy to guess. Choose a password that is not commonly used"
    return None


# zxcvbn's estimate of how many guesses an attacker needs (keyboard walks, repeats, sequences,
# dates, dictionary words); below 10^8 it is guessable offline in moments.
MIN_GUESSES_LOG10 = 8


def _estimated_guesses_log10(password: str, email: str | None) -> float:
    from zxcvbn import zxcvbn

    hints = ["partnership", "bid", "opcc", "csp"]
    if email:
        hints += re.split(r"[@._-]+", email.lower())
    # zxcvbn's cost grows with length; the first 64 characters are plenty for an estimate.
    return zxcvbn(password[:64], user_inputs=hints)["guesses_log10"]
