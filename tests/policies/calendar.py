"""Calendars (issue 6): the calendar address page and its buttons (anyone signed in, for themselves),
the private feed (public: the secret in the address is the permission), and the one-off .ics files
of a round (lead bidder users; CSP users get 403) and of a contribution (lead bidder users and that
CSP's users; other CSPs get 404)."""

from tests.access_policy import LEAD_ANY, PUBLIC, SIGNED_IN, Route

CSP_ANY = frozenset({"csp_manager", "csp_contributor"})


def a_feed_token(app, world) -> dict:
    """CSP A1's manager's calendar address (the feed answers whoever asks, signed in or not)."""
    from app.extensions import db
    from app.models import User
    from app.services.calendar import create_feed

    with app.app_context():
        token = create_feed(db.session.get(User, world.users["csp_manager"]))
        db.session.commit()
        return {"token": token}


ROUTES: list = [
    Route("calendar.settings", SIGNED_IN),
    Route("calendar.create_feed", SIGNED_IN, method="POST"),
    Route("calendar.revoke_feed", SIGNED_IN, method="POST"),
    Route("calendar.feed", PUBLIC, prepare=a_feed_token),
    Route("calendar.round_ics", LEAD_ANY, lambda w: {"round_id": w.round_a}, tenant_scoped=True),
    Route(
        "calendar.contribution_ics",
        LEAD_ANY | CSP_ANY,
        lambda w: {"contribution_id": w.contribution_a1},
        tenant_scoped=True,
        csp_scoped=True,
    ),
]
