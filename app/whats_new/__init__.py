from flask import Blueprint

bp = Blueprint("whats_new", __name__)

from app.whats_new import routes  # noqa: E402,F401
