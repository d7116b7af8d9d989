"""Reviewing contributions (lead bidder): overview, review page, comments, decisions, timeline."""

from tests.access_policy import LEAD_ANY, SIGNED_IN, Route

REVIEWERS = frozenset({"lead_admin", "lead_staff"})
# Comments are written by lead bidder staff and by the contribution's own CSP; viewers only read.
COMMENTERS = frozenset({"lead_admin", "lead_staff", "csp_manager", "csp_contributor"})

A1 = lambda w: {"contribution_id": w.contribution_a1}  # noqa: E731
ROUND_A = lambda w: {"round_id": w.round_a}  # noqa: E731


def _submitted(app, world) -> dict:
    """CSP A1's contribution, submitted, so that the review actions have something to act on."""
    from app.extensions import db
    from app.models import Contribution, ContributionStatus
    from app.models.base import utcnow

    with app.app_context():
        c = db.session.get(Contribution, world.contribution_a1)
        c.status = ContributionStatus.SUBMITTED
        c.submitted_at = utcnow()
        db.session.commit()
    return A1(world)


ROUTES = [
    Route("review.overview", LEAD_ANY, ROUND_A, tenant_scoped=True),
    Route("review.contribution", LEAD_ANY, prepare=_submitted, tenant_scoped=True),
    Route("review.comments", SIGNED_IN, A1, tenant_scoped=True, csp_scoped=True),
    Route("review.comments", COMMENTERS, A1, method="POST", tenant_scoped=True, csp_scoped=True),
    Route("review.request_changes", REVIEWERS, prepare=_submitted, tenant_scoped=True),
    Route("review.request_changes", REVIEWERS, prepare=_submitted, method="POST", tenant_scoped=True),
    Route("review.accept", REVIEWERS, prepare=_submitted, method="POST", tenant_scoped=True),
    Route("review.exclude", REVIEWERS, prepare=_submitted, tenant_scoped=True),
    Route("review.exclude", REVIEWERS, prepare=_submitted, method="POST", tenant_scoped=True),
    Route("review.include", REVIEWERS, A1, method="POST", tenant_scoped=True),
    Route("review.timeline", SIGNED_IN, A1, tenant_scoped=True, csp_scoped=True),
]
