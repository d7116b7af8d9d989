"""Tenant scoping by mechanism (app/tenancy.py): in a request of lead bidder A, ORM queries find
only A's rows even when they forget to say so; outside a request nothing is filtered."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from flask_login import login_user
from sqlalchemy import func, select
from sqlalchemy.orm import aliased, joinedload, selectinload
from werkzeug.exceptions import NotFound

from app.extensions import db
from app.models import (
    BudgetLine,
    CollectiveBid,
    Contribution,
    CostCategory,
    FinancialYear,
    InternalNote,
    MergedRevision,
    MergedSection,
    Organisation,
    ReviewComment,
    Round,
    SectionResponse,
    SectionRevision,
    SectionTemplate,
    TokenPurpose,
    User,
)
from app.models.base import TenantScoped, utcnow
from app.policy import get_contribution_or_404, get_round_or_404
from app.services import calendar as calendar_service
from app.tenancy import current_tenant_id, tenant_scope, unscoped
from tests.conftest import post_form, sign_in


def _scoped_models():
    return sorted(
        (m.class_ for m in db.Model.registry.mappers if issubclass(m.class_, TenantScoped)), key=lambda c: c.__name__
    )


def _tenant_of(row) -> int | None:
    """A row's lead bidder, found by walking up to a lead_bidder_id (unscoped, in Python)."""
    if isinstance(row, Organisation):
        return row.tenant_id
    while row.__tenant_parent__ is not None:
        row = getattr(row, row.__tenant_parent__)
    return row.lead_bidder_id


@pytest.fixture
def full_world(app, world):
    """The world, plus rows of every child kind in both lead bidders (budget lines, comments,
    revisions, a collective bid with a merged section and its revision)."""
    with app.app_context():
        for round_id, contribution_id, author in (
            (world.round_a, world.contribution_a1, world.users["lead_admin"]),
            (world.round_b, world.contribution_b1, world.users["other_lead_admin"]),
        ):
            rnd = db.session.get(Round, round_id)
            contribution = db.session.get(Contribution, contribution_id)
            db.session.add(
                BudgetLine(
                    contribution=contribution,
                    financial_year=rnd.financial_years[0],
                    cost_category=rnd.cost_categories[0],
                    description="Youth worker",
                    amount_pence=100_00,
                )
            )
            db.session.add(ReviewComment(contribution=contribution, author_id=author, body="Looks good"))
            db.session.add(InternalNote(contribution=contribution, author_id=author, body="Check their figures"))
            response = SectionResponse(contribution=contribution, section=rnd.sections[0], text="Our text")
            db.session.add(response)
            response.revisions.append(SectionRevision(number=1, text="Our text", created_by_id=author))
            # The bid is made with the round.
            bid = db.session.scalar(select(CollectiveBid).where(CollectiveBid.round_id == rnd.id))
            section = MergedSection(bid=bid, section=rnd.sections[0], text="Merged")
            section.revisions.append(MergedRevision(number=1, text="Merged", created_by_id=author))
            db.session.add(section)
        db.session.commit()
    return world


@contextmanager
def as_user(app, user_id: int):
    """A request of this signed-in user (as Flask-Login sets it up), with a fresh session."""
    with app.test_request_context():
        user = db.session.get(User, user_id)
        login_user(user)
        yield user


def test_every_scoped_model_finds_only_the_tenants_rows(app, full_world):
    with app.app_context():
        everything = {model: db.session.scalars(select(model)).all() for model in _scoped_models()}
        expected = {m: {r.id for r in rows if _tenant_of(r) == full_world.lead_a} for m, rows in everything.items()}
        # The test means something: the main kinds have rows of both lead bidders.
        tenants = {full_world.lead_a, full_world.lead_b}
        both = {m.__name__ for m, rows in everything.items() if {_tenant_of(r) for r in rows} >= tenants}
        assert both >= {
            "AuditEvent", "BudgetLine", "CollectiveBid", "Contribution", "CostCategory", "FinancialYear",
            "InternalNote", "MergedRevision", "MergedSection", "Organisation", "ReviewComment", "Round",
            "SectionResponse",
            "SectionRevision", "SectionTemplate", "User",
        }

    with as_user(app, full_world.users["lead_staff"]):
        assert current_tenant_id() == full_world.lead_a
        for model in _scoped_models():
            found = set(db.session.scalars(select(model.id)).all())  # a query that forgot its filter
            assert found == expected[model], model.__name__
            assert db.session.scalar(select(func.count()).select_from(model)) == len(expected[model])


def test_a_csp_user_is_scoped_to_their_lead_bidder(app, full_world):
    with as_user(app, full_world.users["other_lead_csp_manager"]):
        assert db.session.scalars(select(Round.id)).all() == [full_world.round_b]
        assert db.session.scalars(select(Contribution.id)).all() == [full_world.contribution_b1]
        names = set(db.session.scalars(select(Organisation.id)).all())
        assert names == {full_world.lead_b, full_world.csp_b1}


def test_get_of_another_tenants_row_finds_nothing(app, full_world):
    with as_user(app, full_world.users["lead_admin"]) as admin:
        assert db.session.get(Round, full_world.round_b) is None
        assert db.session.get(Contribution, full_world.contribution_b1) is None
        assert db.session.get(Organisation, full_world.lead_b) is None
        assert db.session.get(User, full_world.users["other_lead_admin"]) is None
        assert db.session.get(Round, full_world.round_a).id == full_world.round_a
        with pytest.raises(NotFound):
            get_round_or_404(admin, full_world.round_b)
        with pytest.raises(NotFound):
            get_contribution_or_404(admin, full_world.contribution_b1)


def test_get_checks_objects_already_in_the_identity_map(app, full_world):
    with as_user(app, full_world.users["lead_admin"]):
        with unscoped():
            other_round = db.session.get(Round, full_world.round_b)
            other_section = other_round.sections[0]
        assert other_round in db.session  # in the identity map: get() emits no SQL for it
        assert db.session.get(Round, full_world.round_b) is None
        assert db.session.get(Round, full_world.round_b, populate_existing=True) is None
        assert db.session.get(SectionTemplate, other_section.id) is None  # its round is loaded
        db.session.expire_all()
        assert db.session.get(Round, full_world.round_b) is None  # refreshed, then refused


def test_relationship_loads_never_return_another_tenants_rows(app, full_world):
    with app.app_context():
        other_responses = db.session.scalar(
            select(func.count()).select_from(SectionResponse).where(
                SectionResponse.contribution_id == full_world.contribution_b1
            )
        )
        assert other_responses > 0
    with as_user(app, full_world.users["lead_admin"]):
        with unscoped():
            other_contribution = db.session.get(Contribution, full_world.contribution_b1)
            other_round = db.session.get(Round, full_world.round_b)
        # Objects loaded unscoped do not smuggle their rows in through lazy loads.
        assert other_contribution.responses == []
        assert other_contribution.budget_lines == []
        assert other_round.sections == []
        assert other_round.contributions == []

        own = db.session.get(Round, full_world.round_a)
        assert {c.lead_bidder_id for c in own.contributions} == {full_world.lead_a}
        assert own.lead_bidder.id == full_world.lead_a
        rounds = db.session.scalars(
            select(Round).options(selectinload(Round.contributions).selectinload(Contribution.responses))
        ).all()
        assert [r.id for r in rounds] == [full_world.round_a]
        contributions = db.session.scalars(select(Contribution).options(joinedload(Contribution.round))).all()
        assert {c.round_id for c in contributions} == {full_world.round_a}


def test_joins_aliases_and_subqueries_are_scoped(app, full_world):
    with as_user(app, full_world.users["lead_admin"]):
        joined = db.session.scalars(select(Contribution.id).join(Round, Contribution.round_id == Round.id)).all()
        assert set(joined) == {full_world.contribution_a1, full_world.contribution_a2}
        other = aliased(Round)
        assert db.session.scalars(select(other.id)).all() == [full_world.round_a]
        revisions = db.session.scalars(
            select(SectionRevision).join(SectionRevision.response).join(SectionResponse.contribution)
        ).all()
        assert {r.response.contribution.lead_bidder_id for r in revisions} == {full_world.lead_a}
        # Grouped queries over child tables joined to their parents (as the pages do).
        lines = db.session.execute(
            select(Contribution.lead_bidder_id, func.count(BudgetLine.id))
            .join(BudgetLine, BudgetLine.contribution_id == Contribution.id)
            .group_by(Contribution.lead_bidder_id)
        ).all()
        assert lines == [(full_world.lead_a, 1)]
        years = db.session.scalars(select(FinancialYear.round_id).distinct()).all()
        assert years == [full_world.round_a]
        assert set(db.session.scalars(select(CostCategory.round_id).distinct())) == {full_world.round_a}


def test_the_criteria_are_not_cached_across_tenants(app, full_world):
    """The same statement, run for A then B then A again, finds each one's rows (the lambda's
    tenant is a bound parameter, not a value baked into the cached SQL)."""
    stmt = select(Round.id)
    for tenant, expected in (
        (full_world.lead_a, full_world.round_a),
        (full_world.lead_b, full_world.round_b),
        (full_world.lead_a, full_world.round_a),
    ):
        with app.app_context(), tenant_scope(tenant):
            assert db.session.scalars(stmt).all() == [expected]
            assert db.session.scalars(select(MergedRevision.id)).all() == db.session.scalars(
                select(MergedRevision.id)
                .join(MergedRevision.merged_section)
                .join(MergedSection.bid)
                .where(CollectiveBid.round_id == expected)
            ).all()
    for who, expected in (("lead_admin", full_world.round_a), ("other_lead_admin", full_world.round_b)):
        with as_user(app, full_world.users[who]):
            assert db.session.scalars(stmt).all() == [expected]


def test_no_user_sees_everything(app, full_world):
    with app.app_context():  # command line, workers, migrations, tests
        assert current_tenant_id() is None
        assert set(db.session.scalars(select(Round.id))) == {full_world.round_a, full_world.round_b}
        assert db.session.get(Round, full_world.round_b) is not None
    with app.test_request_context():  # a request with nobody signed in (sign-in, public pages)
        assert current_tenant_id() is None
        assert set(db.session.scalars(select(Round.id))) == {full_world.round_a, full_world.round_b}
        assert db.session.scalar(select(User).where(User.email == full_world.emails["other_lead_admin"]))


def test_explicit_scopes_override_the_signed_in_user(app, full_world):
    with as_user(app, full_world.users["lead_admin"]):
        with tenant_scope(full_world.lead_b):
            assert db.session.scalars(select(Round.id)).all() == [full_world.round_b]
        with unscoped():
            assert set(db.session.scalars(select(Round.id))) == {full_world.round_a, full_world.round_b}
        assert db.session.scalars(select(Round.id)).all() == [full_world.round_a]
    with app.app_context(), tenant_scope(full_world.lead_b):
        assert db.session.scalars(select(Round.id)).all() == [full_world.round_b]


def test_the_tenant_follows_sign_in_and_sign_out_within_a_request(app, full_world):
    with app.test_request_context():
        assert current_tenant_id() is None
        login_user(db.session.get(User, full_world.users["other_lead_admin"]))
        assert current_tenant_id() == full_world.lead_b
        db.session.commit()  # expires the user: its tenant is read again without filtering
        assert db.session.scalars(select(Round.id)).all() == [full_world.round_b]


# --- through the web: the places that must choose on purpose ----------------------------------


def test_signing_in_and_pages_work_for_both_lead_bidders(app, full_world, signed_in):
    for who, own, other in (
        ("lead_admin", full_world.round_a, full_world.round_b),
        ("other_lead_admin", full_world.round_b, full_world.round_a),
    ):
        client = signed_in(who)
        assert client.get(f"/rounds/{own}").status_code == 200
        assert client.get(f"/rounds/{other}").status_code == 404


def test_inviting_an_address_used_in_another_lead_bidder_is_refused_politely(app, full_world, signed_in):
    response = post_form(
        signed_in("lead_admin"),
        "/admin/users/invite",
        {
            "full_name": "Someone Else",
            "email": full_world.emails["other_lead_admin"],
            "organisation": str(full_world.lead_a),
            "role": "lead_staff",
        },
    )
    assert response.status_code == 400
    assert "An account with this email address already exists" in response.get_data(as_text=True)


def test_a_calendar_feed_is_its_owners_whoever_is_signed_in(app, full_world, signed_in):
    with app.app_context():
        rnd = db.session.get(Round, full_world.round_b)
        rnd.internal_deadline = utcnow() + timedelta(days=10)
        token = calendar_service.create_feed(db.session.get(User, full_world.users["other_lead_admin"]))
        db.session.commit()
    response = signed_in("lead_admin").get(f"/calendar/{token}.ics")  # A's cookie, B's feed
    assert response.status_code == 200
    assert f"round-{full_world.round_b}-" in response.get_data(as_text=True)


def test_an_invitation_link_works_while_someone_else_is_signed_in(app, full_world, signed_in):
    from app.services.accounts import _issue_token, invite_user

    with app.app_context():
        admin_b = db.session.get(User, full_world.users["other_lead_admin"])
        invited = invite_user(admin_b, "new@b.example.org", "New Person", admin_b.role, admin_b.organisation)
        token = _issue_token(invited, TokenPurpose.INVITATION, timedelta(hours=1))
        db.session.commit()
    page = signed_in("lead_admin").get(f"/invitation/{token}")  # A's cookie, B's invitation
    assert page.status_code == 200
    assert "new@b.example.org" in page.get_data(as_text=True)


def test_sign_in_as_b_after_a_session_in_the_same_client(app, full_world):
    client = app.test_client()
    sign_in(client, full_world.emails["lead_admin"])
    assert client.get(f"/rounds/{full_world.round_a}").status_code == 200
    client.post("/sign-out")  # no CSRF token: asks again; clear the cookie instead
    client.delete_cookie("session")
    sign_in(client, full_world.emails["other_lead_admin"])
    assert client.get(f"/rounds/{full_world.round_b}").status_code == 200
    assert client.get(f"/rounds/{full_world.round_a}").status_code == 404
