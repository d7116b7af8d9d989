"""What someone typed, kept when they press Save after their session has ended.

The "11pm before the deadline" case: a CSP manager writes a section for an hour, their session
ends while they type, and they press Save. Flask-Login would send them to sign in and the text
would be gone. Instead, for every form that creates or edits content (KEEP: sections, budget
lines, outcomes, partners, comments, internal notes, the merged text, the lead bidder's budget lines, a round's
details ...), the unauthorised POST is kept in a PendingDraft row:

- only when this browser says who last signed in on it, and the form carries a security token
  that this service made (even if it has expired). Who signed in is kept in a cookie of its own,
  signed and HttpOnly, set at sign-in and removed at sign-out: not in Flask's session, because
  Flask stops reading its session cookie PERMANENT_SESSION_LIFETIME (= SESSION_IDLE_MINUTES) after
  it was last written, so when a session ends by idling that cookie is already unreadable. The
  cookie is SameSite=Lax, so another site's form never carries it and nothing is kept from one;
- bound to that user id, with a random token stored hashed; the token travels in the sign-in
  page's `next` link (signing in clears the session, so it cannot wait there);
- never saved for them: after signing in the person sees the page with its form filled in with
  what they sent (every field, dates and choices too: BaseForm asks `refill()`), with a message,
  and saves it themselves;
- shown as often as they open that link: a GET only reads it (a GET never writes). It is
  deleted when they save that form (a successful POST to the same page, by them), when they
  press "Discard what was kept", or after DRAFT_DAYS days (purged when drafts are next kept).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from flask import (
    after_this_request,
    before_render_template,
    current_app,
    flash,
    g,
    has_request_context,
    redirect,
    request,
)
from flask_login import current_user, login_url, user_logged_in, user_logged_out
from flask_wtf import FlaskForm
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import delete, select
from werkzeug.datastructures import MultiDict

from app.extensions import db, login_manager
from app.models import PendingDraft, User
from app.models.base import utcnow
from app.models.draft import DRAFT_DAYS
from app.services.tokens import hash_token, new_token
from app.text import clean_text

# Endpoints whose unauthorised POSTs are kept: every form that creates or edits content. Each
# has a GET at the same address showing the same form, which is where the person is taken back.
KEEP = frozenset({
    "contributions.edit_section",
    "contributions.add_budget_line", "contributions.edit_budget_line",
    "contributions.add_outcome", "contributions.edit_outcome",
    "contributions.add_partner", "contributions.edit_partner",
    "review.comments", "review.request_changes", "review.internal_notes",
    "bid.save_section",
    "bid.consolidation_add_line", "bid.consolidation_edit_line",
    "rounds.new", "rounds.edit", "rounds.add_section", "rounds.edit_section", "rounds.budget_rules",
    "rounds.outcome", "rounds.extension", "deadlines.change", "reminders.schedule",
    "admin.add_csp", "admin.edit_csp", "admin.invite_user", "admin.edit_user", "team.invite", "team.change",
})  # fmt: skip
# Fields that say nothing typed on their own: a POST with only these is not kept.
NOT_CONTENT = frozenset({"csrf_token", "version", "save", "submit", "continue", "complete", "return_to"})
# The id of the last user who signed in on this browser, signed (see the module's docstring).
OWNER_COOKIE = "pb_last_user"
OWNER_SALT = "pending-draft-owner"
QUERY_ARG = "draft"
MAX_KEPT_CHARACTERS = 200_000

KEPT_MESSAGE = "We kept what you sent when your session had ended. Check it and save it."
SIGN_IN_MESSAGE = (
    "Your session had ended, so the text you sent has not been saved. We have kept it: "
    "sign in again to check it and save it"
)


def init_app(app) -> None:
    """Called from create_app(): our handler for unauthorised requests, remembering who signed in,
    finding a kept draft for a GET of its page, and forgetting it once that form is saved."""
    login_manager.unauthorized_handler(unauthorized)
    user_logged_in.connect(remember_user, app, weak=False)
    user_logged_out.connect(forget_user, app, weak=False)
    app.before_request(_find_kept)
    app.after_request(_forget_when_saved)
    app.add_template_global(kept_draft)
    app.jinja_env.globals.update(kept_message=KEPT_MESSAGE, kept_days=DRAFT_DAYS)
    before_render_template.connect(_refill_page_form, app, weak=False)


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
    # One value per name as a string, several (a date's day, month and year) as a list.
    data = {
        name: clean_text(values[0]) if len(values) == 1 else [clean_text(v) for v in values]
        for name, values in request.form.lists()
        if name != "csrf_token" and "password" not in name.lower()
    }
    if not any(_typed(value) for name, value in data.items() if name not in NOT_CONTENT):
        return None
    if sum(len(v) for value in data.values() for v in _values(value)) > MAX_KEPT_CHARACTERS:
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


def _values(value) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _typed(value) -> bool:
    return any(v.strip() for v in _values(value))


@dataclass(frozen=True)
class KeptDraft:
    token: str
    path: str
    data: dict

    def formdata(self) -> MultiDict:
        return MultiDict([(name, v) for name, value in self.data.items() for v in _values(value)])


def find_draft(user: User, token: str | None, path: str) -> KeptDraft | None:
    """The form kept for this user on this page under this token, within DRAFT_DAYS days; None
    for anyone else, another page or an unknown token. Only reads."""
    if not token:
        return None
    row = db.session.scalar(select(PendingDraft).where(PendingDraft.token_hash == hash_token(token)))
    if row is None or row.user_id != user.id or row.path != path:
        return None
    if row.created_at < utcnow() - timedelta(days=DRAFT_DAYS):
        return None
    return KeptDraft(token=token, path=row.path, data=dict(row.form_data or {}))


def _find_kept() -> None:
    """Before a GET that carries a kept draft's token: find it (g.kept_draft) for the page's form."""
    g.kept_draft = None
    if request.method != "GET" or QUERY_ARG not in request.args:
        return
    if not current_user.is_authenticated:
        return
    g.kept_draft = find_draft(current_user, request.args.get(QUERY_ARG), request.path)


def kept_draft() -> KeptDraft | None:
    """The draft this page shows, if any (templates: the banner and the unsaved-changes warning)."""
    return g.get("kept_draft") if has_request_context() else None


def refill(form) -> bool:
    """Fill `form` with the kept draft of this page, if there is one and it is this form's (it
    names one of the form's own inputs). The first form that fits takes it."""
    kept = kept_draft()
    if kept is None or g.get("kept_draft_used") or not isinstance(form, FlaskForm):
        return False
    inputs = {name for name, field in form._fields.items() if field.type not in ("SubmitField", "CSRFTokenField")}
    if not any(name in inputs and name not in NOT_CONTENT and _typed(value) for name, value in kept.data.items()):
        return False
    g.kept_draft_used = True
    form.process(formdata=kept.formdata())
    return True


def mark_used() -> None:
    """A view that fills its form from the kept draft itself (the section editor) says so."""
    g.kept_draft_used = True


def _refill_page_form(sender, template, context, **extra) -> None:
    """As a page is rendered (Flask's before_render_template signal), after the view has filled its
    form from what is saved: a kept draft for this page replaces that with what was sent. So every
    form in KEEP is refilled without its view knowing about drafts."""
    if g.get("kept_draft") is None or g.get("kept_draft_used"):
        return
    for value in list(context.values()):
        if refill(value):
            return


def _forget_when_saved(response):
    """After the person saved a form (a POST to a KEEP page that succeeded and moved on), what was
    kept for them on that page has done its job."""
    if (
        request.method == "POST"
        and request.endpoint in KEEP
        and 300 <= response.status_code < 400
        and current_user.is_authenticated
        and request.cookies.get(OWNER_COOKIE)
    ):
        result = db.session.execute(
            delete(PendingDraft).where(PendingDraft.user_id == current_user.id, PendingDraft.path == request.path)
        )
        if result.rowcount:
            db.session.commit()
        else:
            db.session.rollback()
    return response


def discard(user: User, token: str | None) -> str | None:
    """Delete the draft kept for this user under this token (they chose not to use it); the page
    it was for, or None. The caller commits."""
    if not token:
        return None
    row = db.session.scalar(select(PendingDraft).where(PendingDraft.token_hash == hash_token(token)))
    if row is None or row.user_id != user.id:
        return None
    path = row.path
    db.session.delete(row)
    return path


def purge_expired(now=None) -> int:
    cutoff = (now or utcnow()) - timedelta(days=DRAFT_DAYS)
    result = db.session.execute(delete(PendingDraft).where(PendingDraft.created_at < cutoff))
    return result.rowcount or 0
