"""The collective bid: consolidated budget, outcomes, partners, readiness, sign-off, submission."""

from tests.access_policy import Route

RA = lambda w: {"round_id": w.round_a}  # noqa: E731
LINE = lambda w: {"round_id": w.round_a, "line_id": w.lead_line}  # noqa: E731


def objects(w) -> dict:
    """A budget line held by the lead bidder in round A's bid."""
    from app.extensions import db
    from app.models import Round
    from app.models.bid import LeadBudgetLine
    from app.services.consolidation import get_or_create_bid

    rnd = db.session.get(Round, w.round_a)
    line = LeadBudgetLine(
        bid=get_or_create_bid(rnd),
        financial_year=rnd.financial_years[0],
        cost_category=rnd.cost_categories[0],
        description="Independent evaluation",
        amount_pence=20_000_00,
    )
    db.session.add(line)
    db.session.flush()
    return {"lead_line": line.id}


ROUTES = [
    Route("bid.consolidation_budget", "GET", "round.view", RA),
    Route("bid.whole_bid", "GET", "bid.view_whole", RA),
    Route("bid.consolidation_add_line", "GET POST", "bid.edit", RA),
    Route("bid.consolidation_edit_line", "GET POST", "bid.edit", LINE),
    Route("bid.consolidation_delete_line", "GET POST", "bid.edit", LINE),
    Route("bid.consolidation_outcomes", "GET", "round.view", RA),
    Route("bid.consolidation_partners", "GET", "round.view", RA),
    Route("bid.consolidation_readiness", "GET", "round.view", RA),
    Route("bid.consolidation_sign_off", "GET POST", "bid.sign_off", RA),
    Route("bid.consolidation_submitted", "GET POST", "bid.mark_submitted", RA),
    Route("bid.consolidation_reopen", "GET POST", "bid.reopen", RA),
]
