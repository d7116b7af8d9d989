"""Service navigation items: each shown to those the rulebook lets use it."""

from __future__ import annotations

from flask import g, url_for
from markupsafe import Markup

from app.policy import can, two_factor_required

# Which navigation item each endpoint belongs to (the item is shown as current).
SECTIONS = {
    "admin.users": "admin.users",
    "admin.user": "admin.users",
    "admin.invite_user": "admin.users",
    "admin.edit_user": "admin.users",
    "admin.deactivate_user": "admin.users",
    "admin.activity": "admin.users",
}


def section_of(endpoint: str | None) -> str | None:
    if not endpoint:
        return None
    if endpoint in SECTIONS:
        return SECTIONS[endpoint]
    if endpoint.startswith("admin."):
        return "admin.organisation"
    if endpoint.startswith("rounds.") or endpoint.startswith("review."):  # review: issue 4
        return "rounds.index"
    if endpoint.startswith("bid."):  # the collective bid (issue 4.2)
        return "rounds.index"
    if endpoint.startswith("team."):
        return "team.index"
    if endpoint.startswith("account."):
        return "account.overview"
    return endpoint


def navigation_for(user, endpoint: str | None) -> list[dict]:
    if not getattr(user, "is_authenticated", False):
        return []
    items = [("main.home", "Home")]
    if can(user, "notifications.view"):
        items.append(("whats_new.index", _whats_new_html(user)))
    if can(user, "round.view"):
        items.append(("rounds.index", "Funding rounds"))
    if can(user, "organisation.view"):
        items.append(("admin.organisation", "Organisation"))
    if can(user, "organisation.manage"):
        items.append(("admin.users", "Users"))
    if can(user, "tasks.view"):
        items.append(("assignments.tasks", _your_tasks_html(user)))
    if can(user, "team.view"):
        items.append(("team.index", "Your team"))
    items.append(("account.overview", "Your account"))
    current = section_of(endpoint)
    return [
        {"href": url_for(target), ("html" if isinstance(text, Markup) else "text"): text, "active": target == current}
        for target, text in items
    ]


def search_box_for(user) -> bool:
    """Whether the header shows the search box: to anyone signed in whom the rulebook lets search,
    unless they must set up two-factor sign-in first (until then they can reach nothing else)."""
    if not getattr(user, "is_authenticated", False) or not can(user, "search.use"):
        return False
    return user.has_two_factor or not two_factor_required(user)


def _your_tasks_html(user) -> Markup:
    """"Your tasks (2)", read out as "Your tasks (2 open)". The count comes with the signed-in user
    (app/services/sessions.py), or else from one statement."""
    n = getattr(user, "_open_tasks", None)
    if n is None:
        from app.services.assignments import open_count

        n = open_count(user)
    if not n:
        return Markup("Your tasks")
    return Markup('Your tasks <span class="pb-nav-count">({}<span class="govuk-visually-hidden"> open</span>)</span>'
                  ).format(n)


def _whats_new_html(user) -> Markup:
    """"What's new (3)", read out as "What's new (3 unread)". The count comes with the signed-in
    user (app/services/sessions.py load_session_user counts in the statement that loads them), or
    else from one statement; it is kept in `g.unread_notifications` for the What's new page."""
    unread = getattr(user, "_unread_notifications", None)
    if unread is None:
        from app.services.notifications import unread_count

        unread = unread_count(user)
    g.unread_notifications = unread
    if not unread:
        return Markup("What’s new")
    return Markup('What’s new <span class="pb-nav-count">({}<span class="govuk-visually-hidden"> unread</span>)</span>'
                  ).format(unread)
