"""Loading a contribution for a route: scoped to the user (404 otherwise), and for changes,
refused with a clear message when it is locked (submitted, excluded, round closed)."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_login import current_user

from app.policy import can_edit_contribution, get_contribution_or_404
from app.services.contributions import locked_message


def viewable(contribution_id: int):
    return get_contribution_or_404(current_user, contribution_id)


def editable(contribution_id: int):
    """(contribution, None) when the user may change it, else (contribution, response to return).

    Lead bidder users get 403; CSP users whose contribution is locked go back to the task list
    with the reason, so an old link never looks like a broken page."""
    contribution = get_contribution_or_404(current_user, contribution_id)
    if not current_user.is_csp:
        abort(403)
    if not can_edit_contribution(current_user, contribution):
        flash(locked_message(contribution), "info")
        return contribution, redirect(url_for("contributions.task_list", contribution_id=contribution.id))
    return contribution, None
