"""Routes of the foundation: main pages, sign-in, account, organisation and users."""

from tests.access_policy import LEAD_ADMIN, LEAD_ANY, PUBLIC, SIGNED_IN, Route

ROUTES = [
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
