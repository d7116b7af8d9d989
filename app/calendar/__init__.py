"""Calendars (issue 6): a person's private, revocable calendar feed of their rounds' deadlines, and
one-off .ics downloads of a round's (or a contribution's) deadlines."""

from flask import Blueprint

bp = Blueprint("calendar", __name__)

from app.calendar import routes  # noqa: E402,F401
