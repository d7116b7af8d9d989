"""The collective bid: consolidated budget, outcomes, partners, readiness, sign-off, submission.

Everyone at the lead bidder sees the pages; administrators and staff change lead-held budget
lines; only administrators sign off, mark as submitted and reopen. CSP users get 403."""

from tests.access_policy import LEAD_ADMIN, LEAD_ANY, Route

LEAD_EDIT = frozenset({"lead_admin", "lead_staff"})

RA = lambda w: {"round_id": w.round_a}  # noqa: E731


def a_lead_line(app, world) -> dict:
    from app.extensions import db
    from app.models import Round
    from app.models.bid import LeadBudgetLine
    from app.services.consolidation import get_or_create_bid

    with app.app_context():
        rnd = db.session.get(Round, world.round_a)
        bid = get_or_create_bid(rnd)
        line = LeadBudgetLine(
            bid=bid,
            financial_year=rnd.financial_years[0],
            cost_category=rnd.cost_categories[0],
            description="Independent evaluation",
            amount_pence=20_000_00,
        )
        db.session.add(line)
        db.session.commit()
        return {"round_id": world.round_a, "line_id": line.id}


def _route(endpoint: str, allowed, **kwargs) -> Route:
    kwargs.setdefault("values", RA)
    return Route(endpoint, allowed, tenant_scoped=True, **kwargs)


ROUTES: list = [
    _route("bid.consolidation_budget", LEAD_ANY),
    _route("bid.consolidation_add_line", LEAD_EDIT),
    _route("bid.consolidation_add_line", LEAD_EDIT, method="POST"),
    _route("bid.consolidation_edit_line", LEAD_EDIT, prepare=a_lead_line),
    _route("bid.consolidation_delete_line", LEAD_EDIT, prepare=a_lead_line),
    _route("bid.consolidation_delete_line", LEAD_EDIT, prepare=a_lead_line, method="POST"),
    _route("bid.consolidation_outcomes", LEAD_ANY),
    _route("bid.consolidation_partners", LEAD_ANY),
    _route("bid.consolidation_readiness", LEAD_ANY),
    _route("bid.consolidation_sign_off", LEAD_ADMIN),
    _route("bid.consolidation_sign_off", LEAD_ADMIN, method="POST"),
    _route("bid.consolidation_submitted", LEAD_ADMIN),
    _route("bid.consolidation_reopen", LEAD_ADMIN),
]
