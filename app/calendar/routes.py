"""Calendar pages (issue 6).

- /account/calendar: the person's private calendar address: make one, see it once, make a new one
  (the old one stops working), or turn it off.
- /calendar/<token>.ics: the feed itself. Public (calendar apps fetch it without signing in): the
  secret in the address is the permission. Unknown or revoked addresses, and deactivated people,
  get 404. It neither needs nor sets a session cookie.
- /rounds/<id>/deadlines.ics and /contributions/<id>/deadlines.ics: one-off files to import.

Rules and the calendar contents are in app/services/calendar.py.
"""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from app.calendar import bp
from app.calendar.forms import FeedActionForm
from app.extensions import db
from app.policy import LEAD_ANY, SIGNED_IN, get_contribution_or_404, get_round_or_404, roles_required
from app.services import calendar as service
from app.services.documents import content_disposition
from app.tenancy import tenant_scope, unscoped
from app.urls import absolute_url

ICS_TYPE = "text/calendar; charset=utf-8"


def _ics(body: bytes, filename: str | None = None, cache: str = "no-store") -> Response:
    response = Response(body, content_type=ICS_TYPE)
    response.headers["Cache-Control"] = cache
    if filename:
        response.headers["Content-Disposition"] = content_disposition(filename)
    return response


@bp.get("/account/calendar")
@roles_required(SIGNED_IN)
def settings():
    return _settings_page()


def _settings_page(new_address: str | None = None):
    return render_template(
        "calendar/settings.html",
        title="Your calendar",
        feed=service.feed_of(current_user),
        new_address=new_address,
        form=FeedActionForm(),
    )


@bp.post("/account/calendar")
@roles_required(SIGNED_IN)
def create_feed():
    form = FeedActionForm()
    if form.validate_on_submit():
        had_one = service.feed_of(current_user) is not None
        token = service.create_feed(current_user)
        db.session.commit()
        flash(
            "Your new calendar address is ready. The old address has stopped working"
            if had_one
            else "Your calendar address is ready",
            "success",
        )
        # The address is shown once, in the answer to this POST: the secret is never kept anywhere
        # else (the session cookie is signed, not encrypted, so anyone holding it could read it).
        response = _settings_page(absolute_url("calendar.feed", token=token))
        return response, 200, {"Cache-Control": "no-store"}
    return redirect(url_for("calendar.settings"))


@bp.post("/account/calendar/revoke")
@roles_required(SIGNED_IN)
def revoke_feed():
    form = FeedActionForm()
    if form.validate_on_submit() and service.revoke_feed(current_user):
        db.session.commit()
        flash("Your calendar address has been turned off. Calendars using it will stop updating", "success")
    return redirect(url_for("calendar.settings"))


@bp.get("/calendar/<token>.ics")
def feed(token: str):
    with unscoped():  # the secret decides whose feed it is, not a session cookie
        user = service.user_for_token(token)
    if user is None:
        abort(404)
    with tenant_scope(user.lead_bidder_id):
        body = service.calendar_for(user)
    db.session.commit()  # last_used_at, at most every few minutes
    # Private: shared caches must not keep it; calendar apps may reuse it for five minutes.
    return _ics(body, cache="private, max-age=300")


@bp.get("/rounds/<int:round_id>/deadlines.ics")
@roles_required(LEAD_ANY)
def round_ics(round_id: int):
    rnd = get_round_or_404(current_user, round_id)
    return _ics(service.round_calendar(rnd, current_user), service.filename_for(rnd))


@bp.get("/contributions/<int:contribution_id>/deadlines.ics")
@roles_required(SIGNED_IN)
def contribution_ics(contribution_id: int):
    contribution = get_contribution_or_404(current_user, contribution_id)
    return _ics(
        service.contribution_calendar(contribution), service.filename_for(contribution.round, contribution)
    )
