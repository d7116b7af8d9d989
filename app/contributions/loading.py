"""Loading a contribution for a route: scoped to the user (404 otherwise), and for changes,
refused with a clear message when it is locked (submitted, excluded, round closed)."""

from __future__ import annotations

from flask import url_for
from flask_login import current_user

from app.policy import decide, get_contribution_or_404, redirect_unless


def viewable(contribution_id: int):
    return get_contribution_or_404(current_user, contribution_id)


def editable(contribution_id: int):
    """(contribution, None) when the user may change it, else (contribution, response to return).

    Lead bidder users get 403; CSP users whose contribution is locked go back to the task list
    with the reason, so an old link never looks like a broken page."""
    contribution = get_contribution_or_404(current_user, contribution_id)
    back = url_for("contributions.task_list", contribution_id=contribution.id)
    return contribution, redirect_unless("contribution.edit", contribution, back)


def locked_reason(contribution) -> str | None:
    """Why the user cannot change the contribution now, when their role could (its CSP's users):
    the rulebook's reason (submitted, round closed ...); None when they may, or never could."""
    decision = decide(current_user, "contribution.edit", contribution)
    return decision.reason if decision.kind == "state" else None
