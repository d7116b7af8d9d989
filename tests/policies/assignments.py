"""Giving contribution items and merged sections to people, and "Your tasks"."""

from tests.access_policy import Route

A1_BUDGET = lambda w: {"contribution_id": w.contribution_a1, "item": "budget"}  # noqa: E731
BID_SECTION = lambda w: {"round_id": w.round_a, "section_id": w.section_a}  # noqa: E731


def objects(w) -> dict:
    """CSP A1's budget given to its contributor, and the bid's first section to the lead's staff, so
    that the pages show someone to change and taking back has something to take."""
    from app.extensions import db
    from app.models import Contribution, Round, SectionTemplate, User
    from app.services import assignments
    from app.services.merge import bid_of

    manager = db.session.get(User, w.users["csp_manager"])
    contribution = db.session.get(Contribution, w.contribution_a1)
    assignments.assign_item(manager, contribution, "budget", db.session.get(User, w.users["csp_contributor"]), None)
    admin = db.session.get(User, w.users["lead_admin"])
    rnd = db.session.get(Round, w.round_a)
    section = db.session.get(SectionTemplate, w.section_a)
    assignments.assign_section(admin, bid_of(rnd), section, db.session.get(User, w.users["lead_staff"]), None)
    return {}


ROUTES = [
    Route("assignments.contribution_item", "GET POST", "contribution.assign", A1_BUDGET),
    Route("assignments.unassign_contribution_item", "POST", "contribution.assign", A1_BUDGET),
    Route("assignments.bid_section", "GET POST", "bid.assign", BID_SECTION),
    Route("assignments.unassign_bid_section", "POST", "bid.assign", BID_SECTION),
    Route("assignments.tasks", "GET", "tasks.view"),
]
