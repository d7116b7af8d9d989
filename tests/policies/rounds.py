"""Round set-up (lead bidder)."""

from tests.access_policy import LEAD_ADMIN, LEAD_ANY, Route

RA = lambda w: {"round_id": w.round_a}  # noqa: E731
SECTION = lambda w: {"round_id": w.round_a, "section_id": w.section_a}  # noqa: E731
EXTENSION = lambda w: {"round_id": w.round_a, "contribution_id": w.contribution_a1}  # noqa: E731

ROUTES = [
    Route("rounds.index", LEAD_ANY),
    Route("rounds.new", LEAD_ADMIN),
    Route("rounds.show", LEAD_ANY, RA, tenant_scoped=True),
    Route("rounds.edit", LEAD_ADMIN, RA, tenant_scoped=True),
    Route("rounds.budget_rules", LEAD_ADMIN, RA, tenant_scoped=True),
    Route("rounds.add_section", LEAD_ADMIN, RA, tenant_scoped=True),
    Route("rounds.edit_section", LEAD_ADMIN, SECTION, tenant_scoped=True),
    Route("rounds.move_section", LEAD_ADMIN, SECTION, method="POST", tenant_scoped=True),
    Route("rounds.delete_section", LEAD_ADMIN, SECTION, tenant_scoped=True),
    Route("rounds.participants", LEAD_ADMIN, RA, tenant_scoped=True),
    Route("rounds.open_round", LEAD_ADMIN, RA, tenant_scoped=True),
    Route("rounds.extension", LEAD_ADMIN, EXTENSION, tenant_scoped=True),
]
