"""The access policy table: every route of the app, and who may use it.

test_access_policy.py fails when a route is missing here, and checks each route for anonymous
users, every role, and users of another lead bidder (and, where it applies, of another CSP).
Add every new route to this table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

ROLES = ("lead_admin", "lead_staff", "viewer", "csp_manager", "csp_contributor")
PUBLIC = frozenset({"anonymous", *ROLES})
SIGNED_IN = frozenset(ROLES)
LEAD_ANY = frozenset({"lead_admin", "lead_staff", "viewer"})
LEAD_ADMIN = frozenset({"lead_admin"})


@dataclass(frozen=True)
class Route:
    endpoint: str
    allowed: frozenset[str]
    # url_for() values naming objects of lead bidder A (the signed-in users' own tenant).
    values: Callable = field(default=lambda w: {})
    # POST-only routes are checked with a POST (without a CSRF token, so nothing changes).
    method: str = "GET"
    # True when the URL names an object of lead bidder A: users of lead bidder B must get 404.
    tenant_scoped: bool = False


POLICY: list[Route] = [
    # main
    Route("main.index", PUBLIC),
    Route("main.home", SIGNED_IN),
    Route("main.accessibility", PUBLIC),
    Route("main.privacy", PUBLIC),
    Route("main.help", PUBLIC),
    Route("main.healthz", PUBLIC),
    # auth
    Route("auth.sign_in", PUBLIC),
    Route("auth.sign_out", PUBLIC, method="POST"),
    Route("auth.accept_invitation", PUBLIC, lambda w: {"token": "not-a-real-token"}),
    Route("auth.forgot_password", PUBLIC),
    Route("auth.check_email", PUBLIC),
    Route("auth.reset_password", PUBLIC, lambda w: {"token": "not-a-real-token"}),
    # account
    Route("account.overview", SIGNED_IN),
    Route("account.change_password", SIGNED_IN),
    # admin: organisation and CSPs
    Route("admin.organisation", LEAD_ANY),
    Route("admin.add_csp", LEAD_ADMIN),
    Route("admin.csp", LEAD_ANY, lambda w: {"csp_id": w.csp_a1}, tenant_scoped=True),
    Route("admin.edit_csp", LEAD_ADMIN, lambda w: {"csp_id": w.csp_a1}, tenant_scoped=True),
    Route("admin.deactivate_csp", LEAD_ADMIN, lambda w: {"csp_id": w.csp_a1}, tenant_scoped=True),
    Route("admin.reactivate_csp", LEAD_ADMIN, lambda w: {"csp_id": w.csp_a1}, method="POST", tenant_scoped=True),
    # admin: users
    Route("admin.users", LEAD_ADMIN),
    Route("admin.invite_user", LEAD_ADMIN),
    Route("admin.user", LEAD_ADMIN, lambda w: {"user_id": w.users["csp_manager"]}, tenant_scoped=True),
    Route("admin.edit_user", LEAD_ADMIN, lambda w: {"user_id": w.users["csp_manager"]}, tenant_scoped=True),
    Route("admin.deactivate_user", LEAD_ADMIN, lambda w: {"user_id": w.users["csp_manager"]}, tenant_scoped=True),
    Route(
        "admin.reactivate_user",
        LEAD_ADMIN,
        lambda w: {"user_id": w.users["csp_manager"]},
        method="POST",
        tenant_scoped=True,
    ),
    Route(
        "admin.resend_invitation",
        LEAD_ADMIN,
        lambda w: {"user_id": w.users["csp_manager"]},
        method="POST",
        tenant_scoped=True,
    ),
    Route("admin.activity", LEAD_ADMIN),
]

# Users of lead bidder B, who must never see lead bidder A's objects, by the role they hold there.
OTHER_TENANT = {"lead_admin": "other_lead_admin", "csp_manager": "other_lead_csp_manager"}
