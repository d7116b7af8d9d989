"""Contributions: what a CSP writes for a round. Routes are split by part:
routes.py (task list, check answers, submit), sections.py (narrative sections and their history),
budget.py (budget lines, outcomes, partners), budget_import.py (the budget to and from Excel),
documents.py (supporting documents), imports.py (a Word draft imported into the sections, and the
Word template to draft in)."""

from flask import Blueprint

bp = Blueprint("contributions", __name__, url_prefix="/contributions")

from app.contributions import budget, budget_import, documents, imports, routes, sections  # noqa: E402,F401
