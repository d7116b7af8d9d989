"""Routes of the foundation: main pages, sign-in, account, organisation and users."""

from tests.access_policy import PUBLIC, SIGNED_IN, Route

CSP_A1 = lambda w: {"csp_id": w.csp_a1}  # noqa: E731
MANAGER_A1 = lambda w: {"user_id": w.users["csp_manager"]}  # noqa: E731
BAD_TOKEN = lambda w: {"token": "not-a-real-token"}  # noqa: E731

ROUTES = [
    # main
    Route("main.index", "GET", PUBLIC),
    Route("main.home", "GET", SIGNED_IN),
    Route("main.accessibility", "GET", PUBLIC),
    Route("main.privacy", "GET", PUBLIC),
    Route("main.help", "GET", PUBLIC),
    Route("main.healthz", "GET", PUBLIC),
    # operations (app/ops): the load balancer's readiness, and Prometheus with its bearer token
    # (without it: 404 for everyone, tests/test_ops.py)
    Route("ops.readyz", "GET", PUBLIC),
    Route("ops.metrics", "GET", PUBLIC, headers=lambda w: {"Authorization": "Bearer testing-metrics-token"}),
    Route("main.stay_signed_in", "POST", "account.stay_signed_in"),
    Route("main.discard_draft", "POST", "account.discard_draft"),
    # auth
    Route("auth.sign_in", "GET POST", PUBLIC),
    Route("auth.two_factor_code", "GET POST", PUBLIC),
    Route("auth.sign_out", "POST", PUBLIC),
    Route("auth.accept_invitation", "GET POST", PUBLIC, BAD_TOKEN),
    Route("auth.forgot_password", "GET POST", PUBLIC),
    Route("auth.check_email", "GET", PUBLIC),
    Route("auth.reset_password", "GET POST", PUBLIC, BAD_TOKEN),
    # account
    Route("account.overview", "GET", "account.use"),
    Route("account.change_password", "GET POST", "account.use"),
    Route("account.sign_out_other_sessions", "POST", "account.end_other_sessions"),
    Route("account.two_factor", "GET", "account.two_factor"),
    Route("account.start_two_factor", "POST", "account.two_factor"),
    Route("account.set_up_two_factor", "GET POST", "account.two_factor"),
    Route("account.new_recovery_codes", "POST", "account.two_factor"),
    Route("account.turn_off_two_factor", "GET POST", "account.turn_off_two_factor"),
    Route("account.email_preferences", "GET POST", "account.email_preferences"),
    # admin: organisation and CSPs
    Route("admin.organisation", "GET", "organisation.view"),
    Route("admin.add_csp", "GET POST", "organisation.manage"),
    Route("admin.csp", "GET", "organisation.view", CSP_A1),
    Route("admin.edit_csp", "GET POST", "organisation.manage", CSP_A1),
    Route("admin.deactivate_csp", "GET POST", "organisation.manage", CSP_A1),
    Route("admin.reactivate_csp", "POST", "organisation.manage", CSP_A1),
    Route("admin.require_two_factor", "POST", "csp.require_two_factor", CSP_A1),
    # admin: users
    Route("admin.users", "GET", "organisation.manage"),
    Route("admin.invite_user", "GET POST", "organisation.manage"),
    Route("admin.user", "GET", "organisation.manage", MANAGER_A1),
    Route("admin.edit_user", "GET POST", "organisation.manage", MANAGER_A1),
    Route("admin.deactivate_user", "GET POST", "user.deactivate", MANAGER_A1),
    Route("admin.reactivate_user", "POST", "organisation.manage", MANAGER_A1),
    Route("admin.resend_invitation", "POST", "organisation.manage", MANAGER_A1),
    Route("admin.reset_two_factor", "POST", "user.reset_two_factor", MANAGER_A1),
    Route("admin.activity", "GET", "organisation.manage"),
    Route("admin.activity_csv", "GET", "organisation.export_activity", download="text/csv"),
]
