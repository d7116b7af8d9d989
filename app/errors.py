"""Styled error pages. A 500 shows a reference id (logged with the traceback), never a traceback."""

from __future__ import annotations

import logging
import secrets

from flask import current_app, g, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.extensions import db

log = logging.getLogger(__name__)

PAGES = {
    400: ("Sorry, there is a problem with your request", "errors/400.html"),
    403: ("You do not have permission to see this page", "errors/403.html"),
    404: ("Page not found", "errors/404.html"),
    405: ("Sorry, there is a problem with your request", "errors/400.html"),
    413: ("The file or form you sent is too large", "errors/413.html"),
    429: ("Too many attempts", "errors/429.html"),
    500: ("Sorry, there is a problem with the service", "errors/500.html"),
}


def render_error(code: int, title: str | None = None, **context):
    default_title, template = PAGES.get(code, PAGES[500])
    return render_template(template, title=title or default_title, code=code, **context), code


def register(app) -> None:
    from app.policy import NotAllowed
    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        # An expired or missing CSRF token: run the view again so that its form validation
        # fails on the token and the page comes back with everything the user typed.
        view = current_app.view_functions.get(request.endpoint or "")
        if request.method == "POST" and view is not None and not g.get("csrf_redispatched"):
            g.csrf_redispatched = True
            try:
                return current_app.make_response(view(**(request.view_args or {})))
            except HTTPException as http_exc:  # the view's own 403/404 still apply
                return http_error(http_exc)
            except NotAllowed as refused:  # so do the rulebook's
                return not_allowed(refused)
            except Exception as other:  # noqa: BLE001 - anything else is a 500 page, as elsewhere
                return server_error(other)
        return render_error(400)

    @app.errorhandler(NotAllowed)
    def not_allowed(exc: NotAllowed):
        # The rulebook refused: another tenant's or CSP's record is a plain 404; a role or a state
        # that does not allow it is a 403 that says why ("The bid has been signed off ...").
        db.session.rollback()
        if exc.status == 404:
            return render_error(404)
        if exc.kind != "state":
            return render_error(403)
        return render_error(403, title="You cannot do this now", reason=exc.message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code in (301, 302, 303, 307, 308):
            return exc
        if exc.code == 429:
            return render_error(429, retry_after=getattr(exc, "description", ""))
        if exc.code in PAGES:
            return render_error(exc.code)
        return exc

    def _loggable_path() -> str:
        """The path, with a secret link's token (invitation, password reset, calendar feed) left out."""
        path = request.path
        for name, value in (request.view_args or {}).items():
            if "token" in name and isinstance(value, str) and value:
                path = path.replace(value, f"<{name}>")
        return path

    @app.errorhandler(Exception)
    def server_error(exc: Exception):
        if isinstance(exc, HTTPException):
            return http_error(exc)
        reference = secrets.token_hex(4).upper()
        log.exception("Unhandled error, reference %s, on %s %s", reference, request.method, _loggable_path())
        try:
            db.session.rollback()
        except Exception:  # pragma: no cover - the database may be what failed
            log.exception("Rollback failed too (reference %s)", reference)
        return render_error(500, reference=reference)
