"""Deadlines (issue 6): each round's deadlines page (a timeline of its milestones and every CSP's
status against them), changing the funder's or internal deadline or the sign-off target with a
reason, and the history of every change."""

from flask import Blueprint

bp = Blueprint("deadlines", __name__)

from app.deadlines import routes  # noqa: E402,F401
