"""Budget lines, outcomes and partners of a contribution.

The list pages are for everyone who may see the contribution (read-only for the lead bidder);
adding, changing and deleting are for the CSP's own users. Routes naming a line, an outcome or a
partner create one in CSP A1's contribution first (prepare)."""

from datetime import date

from tests.access_policy import SIGNED_IN, Route

CSP_ANY = frozenset({"csp_manager", "csp_contributor"})

A1 = lambda w: {"contribution_id": w.contribution_a1}  # noqa: E731


def _make(app, world, make) -> dict:
    from app.extensions import db
    from app.models import Contribution

    with app.app_context():
        contribution = db.session.get(Contribution, world.contribution_a1)
        obj = make(contribution)
        db.session.add(obj)
        db.session.commit()
        return obj.id


def a_budget_line(app, world) -> dict:
    from app.models import BudgetLine

    def make(c):
        return BudgetLine(
            contribution=c,
            financial_year=c.round.financial_years[0],
            cost_category=c.round.cost_categories[0],
            description="Detached youth workers",
            amount_pence=25_000_00,
        )

    return {"contribution_id": world.contribution_a1, "line_id": _make(app, world, make)}


def an_outcome(app, world) -> dict:
    from app.models import Outcome

    def make(c):
        return Outcome(
            contribution=c, measure="Permanent exclusions", baseline="42", target="30", by_when=date(2020, 3, 31)
        )

    return {"contribution_id": world.contribution_a1, "outcome_id": _make(app, world, make)}


def a_partner(app, world) -> dict:
    from app.models import PartnerInvolvement

    def make(c):
        return PartnerInvolvement(contribution=c, organisation_name="Reading Youth Offending Service", role="Referrals")

    return {"contribution_id": world.contribution_a1, "partner_id": _make(app, world, make)}


ROUTES = [
    # budget lines
    Route("contributions.budget", SIGNED_IN, A1, tenant_scoped=True, csp_scoped=True),
    Route("contributions.add_budget_line", CSP_ANY, A1, tenant_scoped=True, csp_scoped=True),
    Route("contributions.edit_budget_line", CSP_ANY, prepare=a_budget_line, tenant_scoped=True, csp_scoped=True),
    Route("contributions.delete_budget_line", CSP_ANY, prepare=a_budget_line, tenant_scoped=True, csp_scoped=True),
    # outcomes
    Route("contributions.outcomes", SIGNED_IN, A1, tenant_scoped=True, csp_scoped=True),
    Route("contributions.add_outcome", CSP_ANY, A1, tenant_scoped=True, csp_scoped=True),
    Route("contributions.edit_outcome", CSP_ANY, prepare=an_outcome, tenant_scoped=True, csp_scoped=True),
    Route("contributions.delete_outcome", CSP_ANY, prepare=an_outcome, tenant_scoped=True, csp_scoped=True),
    # partners
    Route("contributions.partners", SIGNED_IN, A1, tenant_scoped=True, csp_scoped=True),
    Route("contributions.add_partner", CSP_ANY, A1, tenant_scoped=True, csp_scoped=True),
    Route("contributions.edit_partner", CSP_ANY, prepare=a_partner, tenant_scoped=True, csp_scoped=True),
    Route("contributions.delete_partner", CSP_ANY, prepare=a_partner, tenant_scoped=True, csp_scoped=True),
]
