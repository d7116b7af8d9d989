"""Calendars: the calendar address page and its buttons (anyone signed in, for themselves), the
private feed (public: the secret in the address is the permission), and the one-off .ics files of
a round (round.view) and of a contribution (contribution.view)."""

from tests.access_policy import PUBLIC, Route

ICS = "text/calendar"


def objects(w) -> dict:
    """CSP A1's manager's calendar address (the feed answers whoever asks, signed in or not)."""
    from app.extensions import db
    from app.models import User
    from app.services.calendar import create_feed

    return {"feed_token": create_feed(db.session.get(User, w.users["csp_manager"]))}


ROUTES = [
    Route("calendar.settings", "GET", "account.use"),
    Route("calendar.create_feed", "POST", "account.use"),
    Route("calendar.revoke_feed", "POST", "account.use"),
    Route("calendar.feed", "GET", PUBLIC, lambda w: {"token": w.feed_token}, download=ICS,
          writes_on_get="the feed notes when a calendar last fetched it (shown on the calendar page)"),
    Route("calendar.round_ics", "GET", "round.view", lambda w: {"round_id": w.round_a}, download=ICS),
    Route("calendar.contribution_ics", "GET", "contribution.view", lambda w: {"contribution_id": w.contribution_a1},
          download=ICS),
]
