"""Assignments: giving a CSP's contribution items and the collective bid's merged sections to
people, with due dates, and each person's own list of what they have been given ("Your tasks")."""

from flask import Blueprint

bp = Blueprint("assignments", __name__)

from app.assignments import routes  # noqa: E402,F401
