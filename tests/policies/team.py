"""Routes of a CSP manager's team pages: the people of their own CSP.

The person each URL names is CSP A1's contributor, whom CSP A1's manager may act on; CSP A2's
manager gets 404 for them (another CSP's person), as does anyone of lead bidder B. The variants try
the same pages on the manager themselves (refused by state), on a lead bidder user and on another
CSP's manager (404 for CSP A1's manager)."""

from tests.access_policy import Route

CONTRIBUTOR_A1 = lambda w: {"user_id": w.users["csp_contributor"]}  # noqa: E731
MANAGER_A1 = lambda w: {"user_id": w.users["csp_manager"]}  # noqa: E731
MANAGER_A2 = lambda w: {"user_id": w.users["other_csp_manager"]}  # noqa: E731
LEAD_STAFF = lambda w: {"user_id": w.users["lead_staff"]}  # noqa: E731

ROUTES = [
    Route("team.index", "GET", "team.view"),
    Route("team.invite", "GET POST", "team.invite"),
    Route("team.person", "GET", "team.view", CONTRIBUTOR_A1),
    Route("team.person", "GET", "team.view", MANAGER_A2, variant="another CSP's manager"),
    Route("team.person", "GET", "team.view", LEAD_STAFF, variant="a lead bidder user", refused_to_everyone=True),
    Route("team.change", "GET POST", "team.change", CONTRIBUTOR_A1),
    Route("team.change", "GET POST", "team.change", MANAGER_A1, variant="themselves", refused_to_everyone=True),
    Route("team.change", "GET", "team.change", LEAD_STAFF, variant="a lead bidder user", refused_to_everyone=True),
    Route("team.deactivate", "GET POST", "team.deactivate", CONTRIBUTOR_A1),
    Route("team.deactivate", "GET POST", "team.deactivate", MANAGER_A1, variant="themselves",
          refused_to_everyone=True),
    Route("team.deactivate", "POST", "team.deactivate", MANAGER_A2, variant="another CSP's manager",
          refused_to_everyone=True),
    Route("team.reactivate", "POST", "team.reactivate", CONTRIBUTOR_A1),
    Route("team.resend_invitation", "POST", "team.invite", CONTRIBUTOR_A1),
]
