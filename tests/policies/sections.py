"""Narrative sections of a contribution and their history."""

from tests.access_policy import SIGNED_IN, Route

CSP_ANY = frozenset({"csp_manager", "csp_contributor"})


def a1_section(w) -> dict:
    return {"contribution_id": w.contribution_a1, "section_id": w.section_a}


def _with_revisions(app, world) -> dict:
    """Two saved revisions of CSP A1's first section, so that history pages have something to show."""
    from app.extensions import db
    from app.models import Contribution, SectionTemplate, User
    from app.services.sections import save_section

    with app.app_context():
        manager = db.session.get(User, world.users["csp_manager"])
        contribution = db.session.get(Contribution, world.contribution_a1)
        section = db.session.get(SectionTemplate, world.section_a)
        save_section(manager, contribution, section, "Knife crime rose in Reading.", 0, completed=False)
        save_section(manager, contribution, section, "Knife crime rose by a fifth in Reading.", 1, completed=True)
        db.session.commit()
    return a1_section(world)


def _revision(app, world) -> dict:
    return {**_with_revisions(app, world), "number": 1}


def _diff(app, world) -> dict:
    return {**_with_revisions(app, world), "older": 1, "newer": 2}


ROUTES = [
    # GET: CSP users who may edit get the form; everyone else who can see the contribution is
    # sent to the read-only page (a 302), so the task list's links work for lead bidder users.
    Route("contributions.edit_section", SIGNED_IN, a1_section, tenant_scoped=True, csp_scoped=True),
    # POST: only CSP users ever change a section.
    Route("contributions.edit_section", CSP_ANY, a1_section, method="POST", tenant_scoped=True, csp_scoped=True),
    Route("contributions.view_section", SIGNED_IN, a1_section, tenant_scoped=True, csp_scoped=True),
    Route("contributions.section_history", SIGNED_IN, prepare=_with_revisions, tenant_scoped=True, csp_scoped=True),
    Route("contributions.section_revision", SIGNED_IN, prepare=_revision, tenant_scoped=True, csp_scoped=True),
    Route("contributions.section_diff", SIGNED_IN, prepare=_diff, tenant_scoped=True, csp_scoped=True),
]
