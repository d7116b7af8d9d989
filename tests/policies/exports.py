"""Exports (issue 5): the export pages of the collective bid and of one contribution, and one export's
progress page, status, preparation, retry and download.

The bid's exports are for lead bidder users (CSP users get 403); administrators and staff make them.
A contribution's exports are for lead bidder users and that CSP's users (other CSPs get 404); viewers
only look and download."""

from tests.access_policy import LEAD_ANY, Route

LEAD_EDIT = frozenset({"lead_admin", "lead_staff"})
CSP_ANY = frozenset({"csp_manager", "csp_contributor"})
CONTRIBUTION_VIEW = LEAD_ANY | CSP_ANY
CONTRIBUTION_EDIT = LEAD_EDIT | CSP_ANY

RA = lambda w: {"round_id": w.round_a}  # noqa: E731
A1 = lambda w: {"contribution_id": w.contribution_a1}  # noqa: E731


def _export(app, world, contribution: bool, status: str) -> dict:
    """An export record of round A's bid (or of CSP A1's contribution), in the given state."""
    from app.extensions import db
    from app.models import Contribution, ExportStatus, Round, User
    from app.services.exports import request_export

    with app.app_context():
        rnd = db.session.get(Round, world.round_a)
        actor = db.session.get(User, world.users["lead_staff"])
        c = db.session.get(Contribution, world.contribution_a1) if contribution else None
        export = request_export(actor, rnd, "docx", c)
        export.status = ExportStatus(status)
        if status == "failed":
            export.error = "RuntimeError: the renderer broke"
        db.session.commit()
        return {"export_id": export.id}


def a_bid_export(app, world) -> dict:
    return _export(app, world, contribution=False, status="pending")


def a_contribution_export(app, world) -> dict:
    return _export(app, world, contribution=True, status="pending")


def a_failed_bid_export(app, world) -> dict:
    return _export(app, world, contribution=False, status="failed")


def a_failed_contribution_export(app, world) -> dict:
    return _export(app, world, contribution=True, status="failed")


def _bid(endpoint: str, allowed, **kwargs) -> Route:
    return Route(endpoint, allowed, tenant_scoped=True, **kwargs)


def _a1(endpoint: str, allowed, **kwargs) -> Route:
    return Route(endpoint, allowed, tenant_scoped=True, csp_scoped=True, **kwargs)


ROUTES: list = [
    _bid("exports.bid_exports", LEAD_ANY, values=RA),
    _bid("exports.create_bid_export", LEAD_EDIT, values=RA, method="POST"),
    _a1("exports.contribution_exports", CONTRIBUTION_VIEW, values=A1),
    _a1("exports.create_contribution_export", CONTRIBUTION_EDIT, values=A1, method="POST"),
    # One export of the bid, and one of CSP A1's contribution.
    _bid("exports.show", LEAD_ANY, prepare=a_bid_export),
    _a1("exports.show", CONTRIBUTION_VIEW, prepare=a_contribution_export),
    _bid("exports.status", LEAD_ANY, prepare=a_bid_export),
    _a1("exports.status", CONTRIBUTION_VIEW, prepare=a_contribution_export),
    _bid("exports.prepare", LEAD_ANY, prepare=a_bid_export, method="POST"),
    _a1("exports.prepare", CONTRIBUTION_VIEW, prepare=a_contribution_export, method="POST"),
    _bid("exports.retry", LEAD_EDIT, prepare=a_failed_bid_export, method="POST"),
    _a1("exports.retry", CONTRIBUTION_EDIT, prepare=a_failed_contribution_export, method="POST"),
    _bid("exports.download", LEAD_ANY, prepare=a_bid_export),
    _a1("exports.download", CONTRIBUTION_VIEW, prepare=a_contribution_export),
]
