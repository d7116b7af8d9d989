"""The access policy table: every route of the app, and who may use it.

test_access_policy.py fails when a route is missing here, and checks each route for anonymous
users, every role, and users of another lead bidder (and, where it applies, of another CSP).
Add every new route to this table: each area has its module in tests/policies/.
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
    # True when the URL names something of CSP A1: users of CSP A2 must get 404.
    csp_scoped: bool = False
    # For routes whose URL names an object the world does not have (a budget line, a document):
    # prepare(app, world) creates it and returns the url_for() values; it replaces `values`.
    prepare: Callable | None = None

    def url_values(self, app, world) -> dict:
        return self.prepare(app, world) if self.prepare else self.values(world)


from tests.policies import bid_consolidation, bid_merge, contributions, core, documents, review, rounds, sections  # noqa: E402  # noqa: E402
from tests.policies import budget as budget_policy  # noqa: E402
from tests.policies import calendar as calendar_policy  # noqa: E402
from tests.policies import deadlines as deadlines_policy  # noqa: E402
from tests.policies import exports as exports_policy  # noqa: E402
from tests.policies import reminders as reminders_policy  # noqa: E402

POLICY: list[Route] = [
    *core.ROUTES,
    *rounds.ROUTES,
    *contributions.ROUTES,
    *sections.ROUTES,
    *budget_policy.ROUTES,
    *documents.ROUTES,
    *review.ROUTES,
    *bid_merge.ROUTES,
    *bid_consolidation.ROUTES,
    *exports_policy.ROUTES,
    *deadlines_policy.ROUTES,
    *reminders_policy.ROUTES,
    *calendar_policy.ROUTES,
]

# Users of lead bidder B, who must never see lead bidder A's objects, by the role they hold there.
OTHER_TENANT = {"lead_admin": "other_lead_admin", "csp_manager": "other_lead_csp_manager"}
