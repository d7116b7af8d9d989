"""Narrative sections of a contribution and their history."""

from tests.access_policy import Route


def a1_section(w) -> dict:
    return {"contribution_id": w.contribution_a1, "section_id": w.section_a}


def objects(w) -> dict:
    """Two saved revisions of CSP A1's first section, so that history pages have something to show."""
    from app.extensions import db
    from app.models import Contribution, SectionTemplate, User
    from app.services.sections import save_section

    manager = db.session.get(User, w.users["csp_manager"])
    contribution = db.session.get(Contribution, w.contribution_a1)
    section = db.session.get(SectionTemplate, w.section_a)
    save_section(manager, contribution, section, "Knife crime rose in Reading.", 0, completed=False)
    save_section(manager, contribution, section, "Knife crime rose by a fifth in Reading.", 1, completed=True)
    return {}


A1 = lambda w: {"contribution_id": w.contribution_a1}  # noqa: E731
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

ROUTES = [
    # GET: CSP users who may edit get the form; everyone else who can see the contribution is
    # sent to the read-only page (a 302), so the task list's links work for lead bidder users.
    Route("contributions.edit_section", "GET", "contribution.view", a1_section),
    Route("contributions.edit_section", "POST", "contribution.edit", a1_section),
    Route("contributions.view_section", "GET", "contribution.view", a1_section),
    Route("contributions.section_history", "GET", "contribution.view", a1_section),
    Route("contributions.section_revision", "GET", "contribution.view", lambda w: {**a1_section(w), "number": 1}),
    Route("contributions.section_diff", "GET", "contribution.view",
          lambda w: {**a1_section(w), "older": 1, "newer": 2}),
    # A Word draft imported into the sections (app/contributions/imports.py), and its template.
    Route("contributions.draft_template", "GET", "contribution.draft_template", A1, download=DOCX),
    Route("contributions.import_draft", "GET POST", "contribution.import_draft", A1),
    Route("contributions.confirm_import", "POST", "contribution.import_draft", A1),
]
