"""Reminders (issue 6): each round's reminder schedule, the reminders coming up, sent, waiting and
failed, and sending one again (lead bidder administrators)."""

from flask import Blueprint

bp = Blueprint("reminders", __name__)

from app.reminders import routes  # noqa: E402,F401
