"""The collective bid (lead bidder): merging sections (merge.py) and the consolidated budget,
readiness, sign-off and submission (consolidation.py)."""

from flask import Blueprint

bp = Blueprint("bid", __name__, url_prefix="/bid")

from app.bid import consolidation, merge  # noqa: E402,F401
