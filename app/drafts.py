"""Text kept when someone presses Save after their session has ended.

The "11pm before the deadline" case: a CSP manager writes a section for an hour, their session
ends while they type, and they press Save. Flask-Login would send them to sign in and the text
would be gone. Instead, for the forms listed in KEEP, the unauthorised POST is kept in a
PendingDraft row:

- only when this browser says who last signed in on it, and the form carries a security token
  that this service made (even if it has expired). Who signed in is kept in a cookie of its own,
  signed and HttpOnly, set at sign-in and removed at sign-out: not in Flask's session, because
  Flask stops reading its session cookie PERMANENT_SESSION_LIFETIME (= SESSION_IDLE_MINUTES) after
  it was last written, so when a session ends by idling that cookie is already unreadable. The
  cookie is SameSite=Lax, so another site's form never carries it and nothing is kept from one;
- bound to that user id, with a random token stored hashed; the token travels in the sign-in
  page's `next` link (signing in clears the session, so it cannot wait there);
- never saved into the contribution: after signing in the person sees the page filled in with
  what they sent, with a message, and saves it themselves;
- deleted once shown, and after DRAFT_DAYS days in any case.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from flask import after_this_request, current_app, flash, has_request_context, redirect, request
from flask_login import login_url, user_logged_in, user_logged_out
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import delete, select

from app.extensions import db, login_manager
from app.models import PendingDraft, User
from app.models.base import utcnow
from app.services.tokens import hash_token, new_token
from app.text import clean_text

DRAFT_DAYS = 7
# Endpoints whose unauthorised POSTs are kept, with the field that must hold something to keep.
KEEP = {"contributions.edit_section": "text"}
# The id of the last user who signed in on this browser, signed (see the module's docstring).
OWNER_COOKIE = "pb_last_user"
OWNER_SALT = "pending-draft-owner"
QUERY_ARG = "draft"
MAX_KEPT_CHARACTERS = 200_000

KEPT_MESSAGE = "We kept the text you sent when your session had ended. Check it and save it."
SIGN_IN_MESSAGE = (
    "Your session had ended, so the text you sent has not been saved. We have kept it: "
    "sign in again to check it and save it"
)


def init_app(app) -> None:
    """Called from create_app(): our handler for unauthorised requests, and remembering who signed in."""
    login_manager.unauthorized_handler(unauthorized)
    user_logged_in.connect(remember_user, app, weak=False)
    user_logged_out.connect(forget_user, app, weak=False)


def _owner_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=OWNER_SALT)


def remember_user(sender, user, **extra) -> None:
    """At sign-in (Flask-Login's user_logged_in signal): whose text a later unauthorised POST is."""
    if not has_request_context():
        return
    value = _owner_serializer().dumps(user.id)

    @after_this_request
    def _set(response):
        response.set_cookie(
            OWNER_COOKIE,
            value,
            max_age=DRAFT_DAYS * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
        return response


def forget_user(sender, user, **extra) -> None:
    """At sign-out: nothing sent from this browser afterwards is kept for them."""
    if not has_request_context():
        return

    @after_this_request
    def _delete(response):
        response.delete_cookie(OWNER_COOKIE, httponly=True, samesite="Lax")
        return response


def last_user_id() -> int | None:
    """The user who last signed in on this browser, within DRAFT_DAYS days."""
    try:
        user_id = _owner_serializer().loads(request.cookies.get(OWNER_COOKIE, ""), max_age=DRAFT_DAYS * 24 * 3600)
    except BadData:
        return None
    return user_id if isinstance(user_id, int) else None


def _made_here(csrf_token: str | None) -> bool:
    """The form's security token was made by this service (Flask-WTF signs it), even if it has
    expired or its session is gone: the form came from one of our pages, not another site."""
    if not csrf_token:
        return False
    secret = current_app.config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
    try:
        URLSafeTimedSerializer(secret, salt="wtf-csrf-token").loads(csrf_token, max_age=DRAFT_DAYS * 24 * 3600)
    except BadData:
        return False
    return True


def unauthorized():
    """Flask-Login's unauthorised handler: as its default (a message, then sign in and come back),
    but a POST to one of the KEEP forms is kept first and the way back leads to it."""
    token = keep_draft() if request.method == "POST" and request.endpoint in KEEP else None
    if token:
        flash(SIGN_IN_MESSAGE, "info")
        next_url = f"{request.path}?{urlencode({QUERY_ARG: token})}"
    else:
        flash(login_manager.login_message, login_manager.login_message_category)
        next_url = request.url
    return redirect(login_url(login_manager.login_view, next_url=next_url))


def keep_draft() -> str | None:
    """Keep this request's form for the user last signed in on this browser; the token, or None."""
    user_id = last_user_id()
    if user_id is None or not _made_here(request.form.get("csrf_token")):
        return None
    data = {
        name: clean_text(value)
        for name, value in request.form.items()
        if name != "csrf_token" and "password" not in name.lower()
    }
    if not (data.get(KEEP[request.endpoint]) or "").strip():
        return None
    if sum(len(v) for v in data.values()) > MAX_KEPT_CHARACTERS:
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        return None
    purge_expired()
    # One kept draft per person per page: the latest is the one they will be shown.
    db.session.execute(delete(PendingDraft).where(PendingDraft.user_id == user.id, PendingDraft.path == request.path))
    token = new_token()
    db.session.add(PendingDraft(token_hash=hash_token(token), user_id=user.id, path=request.path, form_data=data))
    db.session.commit()
    return token


def take_draft(user: User, token: str | None, path: str) -> dict | None:
    """The form kept for this user on this page under this token, deleted as it is handed over
    (the caller commits). Anyone else, another page or an unknown token gets None."""
    if not token:
        return None
    purge_expired()
    row = db.session.scalar(select(PendingDraft).where(PendingDraft.token_hash == hash_token(token)))
    if row is None or row.user_id != user.id or row.path != path:
        return None
    data = dict(row.form_data or {})
    db.session.delete(row)
    db.session.flush()
    return data


def purge_expired(now=None) -> int:
    cutoff = (now or utcnow()) - timedelta(days=DRAFT_DAYS)
    result = db.session.execute(delete(PendingDraft).where(PendingDraft.created_at < cutoff))
    return result.rowcount or 0
