"""Exports (issue 5): the export pages of the collective bid and of one contribution, the progress
page of one export, and its download."""

from flask import Blueprint

bp = Blueprint("exports", __name__)

from app.exports import funder_form, routes  # noqa: E402,F401
