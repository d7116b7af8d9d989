from flask import Blueprint

bp = Blueprint("rounds", __name__, url_prefix="/rounds")

from app.rounds import import_form, routes  # noqa: E402,F401
