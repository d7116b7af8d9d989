"""Budget lines, outcomes and partners of a contribution.

The list pages are for everyone who may see the contribution (read-only for the lead bidder; their
POST, "have you completed this?", is the CSP's); adding, changing and deleting are for the CSP's
own users while the contribution is theirs to edit."""

from datetime import date

from tests.access_policy import Route

A1 = lambda w: {"contribution_id": w.contribution_a1}  # noqa: E731


def objects(w) -> dict:
    """A budget line, an outcome and a partner in CSP A1's contribution."""
    from app.extensions import db
    from app.models import BudgetLine, Contribution, Outcome, PartnerInvolvement

    c = db.session.get(Contribution, w.contribution_a1)
    line = BudgetLine(
        contribution=c,
        financial_year=c.round.financial_years[0],
        cost_category=c.round.cost_categories[0],
        description="Detached youth workers",
        amount_pence=25_000_00,
    )
    outcome = Outcome(contribution=c, measure="Permanent exclusions", baseline="42", target="30",
                      by_when=date(2020, 3, 31))
    partner = PartnerInvolvement(contribution=c, organisation_name="Reading Youth Offending Service", role="Referrals")
    db.session.add_all([line, outcome, partner])
    db.session.flush()
    return {"budget_line": line.id, "outcome": outcome.id, "partner": partner.id}


LINE = lambda w: {"contribution_id": w.contribution_a1, "line_id": w.budget_line}  # noqa: E731
OUTCOME = lambda w: {"contribution_id": w.contribution_a1, "outcome_id": w.outcome}  # noqa: E731
PARTNER = lambda w: {"contribution_id": w.contribution_a1, "partner_id": w.partner}  # noqa: E731

ROUTES = [
    # budget lines
    Route("contributions.budget", "GET", "contribution.view", A1),
    Route("contributions.budget", "POST", "contribution.edit", A1),
    Route("contributions.add_budget_line", "GET POST", "contribution.edit", A1),
    Route("contributions.edit_budget_line", "GET POST", "contribution.edit", LINE),
    Route("contributions.delete_budget_line", "GET POST", "contribution.edit", LINE),
    # the budget to and from Excel
    Route("contributions.budget_template", "GET", "contribution.import_budget", A1,
          download="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    Route("contributions.import_budget", "GET POST", "contribution.import_budget", A1),
    Route("contributions.confirm_budget_import", "POST", "contribution.import_budget", A1),
    # outcomes
    Route("contributions.outcomes", "GET", "contribution.view", A1),
    Route("contributions.outcomes", "POST", "contribution.edit", A1),
    Route("contributions.add_outcome", "GET POST", "contribution.edit", A1),
    Route("contributions.edit_outcome", "GET POST", "contribution.edit", OUTCOME),
    Route("contributions.delete_outcome", "GET POST", "contribution.edit", OUTCOME),
    # partners
    Route("contributions.partners", "GET", "contribution.view", A1),
    Route("contributions.partners", "POST", "contribution.edit", A1),
    Route("contributions.add_partner", "GET POST", "contribution.edit", A1),
    Route("contributions.edit_partner", "GET POST", "contribution.edit", PARTNER),
    Route("contributions.delete_partner", "GET POST", "contribution.edit", PARTNER),
]
