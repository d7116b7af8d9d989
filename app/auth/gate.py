"""Two-factor sign-in first: someone who must use it (app.policy.two_factor_required) and has not
set it up yet can reach only the pages that set it up, and signing out, until they have."""

from __future__ import annotations

from flask import redirect, request, url_for
from flask_login import current_user

from app.auth import bp
from app.policy import two_factor_required

# What someone who must still set up two-factor sign-in may reach (besides static files).
OPEN = frozenset({
    "account.two_factor",
    "account.start_two_factor",
    "account.set_up_two_factor",
    "auth.sign_out",
    "main.healthz",
    "ops.readyz",  # the load balancer's and Prometheus' requests (app/ops), never a session
    "ops.metrics",
    "main.accessibility",
    "main.privacy",
    "main.help",
    "calendar.feed",  # a secret address for calendar apps, never a session
})


@bp.before_app_request
def two_factor_first():
    if request.endpoint is None or request.endpoint == "static" or request.endpoint in OPEN:
        return None
    if current_user.is_authenticated and not current_user.has_two_factor and two_factor_required(current_user):
        return redirect(url_for("account.two_factor"))
    return None
