"""Server-side sign-in sessions (one row per signed-in browser)."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import Notification, User, UserSession
from app.models.base import utcnow
from app.services.tokens import hash_token, new_token

# last_seen_at is written at most this often, so ordinary page views do not write.
TOUCH_EVERY = timedelta(minutes=1)


def start_session(user: User, user_agent: str | None = None) -> str:
    token = new_token()
    db.session.add(UserSession(token_hash=hash_token(token), user_id=user.id, user_agent=(user_agent or "")[:300]))
    user._session_token = token
    return token


def load_session_user(token: str) -> User | None:
    """The active user whose session this token is, or None (unknown, expired or ended)."""
    if not token:
        return None
    from app.services.assignments import open_count_of

    # The user and their organisation (every page's header names it), how many of their
    # notifications are unread and how many open tasks they have (every page's menu counts them),
    # come in the same statement.
    unread = (
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == UserSession.user_id, Notification.read_at.is_(None))
        .correlate(UserSession)
        .scalar_subquery()
    )
    tasks = open_count_of(UserSession.user_id).correlate(UserSession)
    found = db.session.execute(
        select(UserSession, unread, tasks)
        .where(UserSession.token_hash == hash_token(token))
        .options(joinedload(UserSession.user).joinedload(User.organisation))
    ).first()
    if found is None:
        return None
    row, unread_notifications, open_tasks = found
    now = utcnow()
    idle = timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    if now - row.last_seen_at > idle:
        db.session.delete(row)
        db.session.commit()
        return None
    user = row.user
    if not user.active:
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
        db.session.commit()
    user._session_token = token
    user._unread_notifications = unread_notifications  # app/navigation.py shows it
    user._open_tasks = open_tasks  # and this
    user._session_ends_at = row.last_seen_at + idle  # the time-out warning counts down to this
    return user


def stay_signed_in(user: User) -> int:
    """The signed-in person asked to keep their session going (the time-out warning): its idle
    time starts again now. The seconds it now has left."""
    token = getattr(user, "_session_token", None)
    now = utcnow()
    if token:
        db.session.execute(
            update(UserSession).where(UserSession.token_hash == hash_token(token)).values(last_seen_at=now)
        )
    idle = timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    user._session_ends_at = now + idle
    return int(idle.total_seconds())


def seconds_left(user: User) -> int | None:
    """How long the signed-in person's session lasts if they do nothing more (for the time-out
    warning), or None when it is not known (signed in some other way, as in some tests)."""
    ends_at = getattr(user, "_session_ends_at", None)
    if ends_at is None:
        return None
    return max(0, int((ends_at - utcnow()).total_seconds()))


def end_session(token: str | None) -> None:
    if token:
        db.session.execute(delete(UserSession).where(UserSession.token_hash == hash_token(token)))


def end_all_sessions(user: User, keep_token: str | None = None) -> None:
    stmt = delete(UserSession).where(UserSession.user_id == user.id)
    if keep_token:
        stmt = stmt.where(UserSession.token_hash != hash_token(keep_token))
    db.session.execute(stmt)


def sessions_for(actor: User) -> list[UserSession]:
    """The actor's own sign-in sessions, most recently used first (their account page)."""
    return db.session.scalars(
        select(UserSession).where(UserSession.user_id == actor.id).order_by(UserSession.last_seen_at.desc())
    ).all()


def sign_out_others(actor: User) -> int:
    """Sign the actor out of every browser but this one. Returns how many were signed out."""
    from app.policy import require
    from app.services.audit import record

    require(actor, "account.end_other_sessions", actor)
    token = actor.get_id()
    result = db.session.execute(
        delete(UserSession).where(UserSession.user_id == actor.id, UserSession.token_hash != hash_token(token or ""))
    )
    if result.rowcount:
        record(actor, "user.signed_out_elsewhere", actor,
               f"{actor.full_name} signed out {result.rowcount} other browser{'s' if result.rowcount != 1 else ''}")
    return result.rowcount
