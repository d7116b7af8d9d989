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
    # The rest of the round's life cycle (an open round: close shows its page; the others are
    # refused by state and send the administrator back to the round with the reason).
    Route("rounds.close", LEAD_ADMIN, RA, tenant_scoped=True),
    Route("rounds.reopen_contributions", LEAD_ADMIN, RA, tenant_scoped=True),
    Route("rounds.outcome", LEAD_ADMIN, RA, tenant_scoped=True),
    Route("rounds.archive", LEAD_ADMIN, RA, method="POST", tenant_scoped=True),
    Route("rounds.restore", LEAD_ADMIN, RA, method="POST", tenant_scoped=True),
]
