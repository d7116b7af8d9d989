"""Issue 6: the deadlines routes and who may use them.

Every lead bidder user sees a round's deadlines page (CSP users get 403, as for every round page);
only administrators change a deadline. Another lead bidder's rounds are 404."""

from tests.access_policy import LEAD_ADMIN, LEAD_ANY, Route

RA = lambda w: {"round_id": w.round_a}  # noqa: E731


def _kind(kind: str):
    return lambda w: {"round_id": w.round_a, "kind": kind}


ROUTES: list = [
    Route("deadlines.index", LEAD_ANY, RA, tenant_scoped=True),
    Route("deadlines.change", LEAD_ADMIN, _kind("funder"), tenant_scoped=True),
    Route("deadlines.change", LEAD_ADMIN, _kind("internal"), tenant_scoped=True),
    Route("deadlines.change", LEAD_ADMIN, _kind("sign_off"), tenant_scoped=True),
    Route("deadlines.change", LEAD_ADMIN, _kind("funder"), method="POST", tenant_scoped=True),
]
