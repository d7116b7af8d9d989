"""Shared fixtures: the app on a database built by migrations, a real SMTP server on loopback,
a world of two lead bidders with users of every role, and signed-in clients.

Set TEST_DATABASE_URL to run everything on PostgreSQL (make test does both)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import timedelta

import pytest

os.environ["APP_ENV"] = "testing"

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import text  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db, limiter  # noqa: E402
from app.models import OutboxEmail, OutboxStatus, Role  # noqa: E402
from app.models.base import utcnow  # noqa: E402
from tests.factories import PASSWORD, CSPFactory, LeadBidderFactory, UserFactory  # noqa: E402
from tests.smtp import SMTPServer  # noqa: E402

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def reset_database(app) -> None:
    """Drop everything and build the schema with the migrations, as production does."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        else:
            db.drop_all()
            with engine.begin() as conn:
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()


def empty_tables(app) -> None:
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture(scope="session")
def smtp_server():
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def make_app(smtp_server):
    """Build another app on the same database with some settings changed."""
    apps = []

    def _make(**overrides):
        overrides.setdefault("MAIL_PORT", smtp_server.port)
        overrides.setdefault("MAIL_SERVER", "127.0.0.1")
        app = create_app("testing", **overrides)
        apps.append(app)
        return app

    yield _make
    for app in apps:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def app(make_app):
    app = make_app()
    reset_database(app)
    return app


@pytest.fixture(autouse=True)
def _clean(request, smtp_server):
    smtp_server.start()
    smtp_server.clear()
    yield
    if "app" in request.fixturenames or "world" in request.fixturenames:
        app = request.getfixturevalue("app")
        empty_tables(app)
        with app.app_context():
            limiter.reset()


@pytest.fixture
def client(app):
    return app.test_client()


@dataclass
class World:
    """Two lead bidders: A (the one under test, with users of every role) and B (another tenant).

    Each has an open EIYF-style round: A's with contributions from CSPs A1 (managed by
    csp_manager) and A2 (other_csp_manager), B's with one from CSP B1."""

    lead_a: int
    csp_a1: int
    csp_a2: int
    lead_b: int
    csp_b1: int
    users: dict[str, int]
    emails: dict[str, str]
    round_a: int = 0
    contribution_a1: int = 0
    contribution_a2: int = 0
    round_b: int = 0
    contribution_b1: int = 0
    section_a: int = 0  # the first section of round A that CSPs write


def open_round_for(lead_admin, managers_by_csp: dict, title: str = "Early Intervention Youth Fund 2018"):
    """An open round from the EIYF template; deadlines two and four weeks from now."""
    from app.services import rounds

    now = utcnow()
    rnd = rounds.create_round(
        lead_admin,
        fund_name="Early Intervention Youth Fund",
        funder="Home Office",
        title=title,
        summary="",
        funder_deadline=now + timedelta(days=28),
        internal_deadline=now + timedelta(days=14),
    )
    rounds.set_participants(lead_admin, rnd, managers_by_csp)
    rounds.open_round(lead_admin, rnd)
    db.session.flush()
    return rnd


@pytest.fixture
def world(app) -> World:
    with app.app_context():
        lead_a = LeadBidderFactory(name="Thames Valley OPCC")
        csp_a1 = CSPFactory(name="Reading Community Safety Partnership", lead_bidder=lead_a)
        csp_a2 = CSPFactory(name="Safer Slough Partnership", lead_bidder=lead_a)
        lead_b = LeadBidderFactory(name="Hampshire OPCC")
        csp_b1 = CSPFactory(name="Southampton Community Safety Partnership", lead_bidder=lead_b)
        people = {
            "lead_admin": UserFactory(role=Role.LEAD_ADMIN, organisation=lead_a, email="admin@a.example.org"),
            "lead_staff": UserFactory(role=Role.LEAD_STAFF, organisation=lead_a, email="staff@a.example.org"),
            "viewer": UserFactory(role=Role.VIEWER, organisation=lead_a, email="viewer@a.example.org"),
            "csp_manager": UserFactory(role=Role.CSP_MANAGER, organisation=csp_a1, email="manager@a1.example.org"),
            "csp_contributor": UserFactory(
                role=Role.CSP_CONTRIBUTOR, organisation=csp_a1, email="contributor@a1.example.org"
            ),
            "other_csp_manager": UserFactory(
                role=Role.CSP_MANAGER, organisation=csp_a2, email="manager@a2.example.org"
            ),
            "other_lead_admin": UserFactory(role=Role.LEAD_ADMIN, organisation=lead_b, email="admin@b.example.org"),
            "other_lead_csp_manager": UserFactory(
                role=Role.CSP_MANAGER, organisation=csp_b1, email="manager@b1.example.org"
            ),
        }
        db.session.flush()
        round_a = open_round_for(
            people["lead_admin"],
            {csp_a1.id: people["csp_manager"].id, csp_a2.id: people["other_csp_manager"].id},
        )
        round_b = open_round_for(people["other_lead_admin"], {csp_b1.id: people["other_lead_csp_manager"].id})
        by_csp = {c.csp_id: c.id for c in [*round_a.contributions, *round_b.contributions]}
        # The rounds' opening emails are queued but not delivered, so tests count only their own.
        db.session.execute(
            OutboxEmail.__table__.update().values(status=OutboxStatus.CANCELLED, last_error="Test world")
        )
        section_a = next(s for s in round_a.sections if s.csp_contributes)
        db.session.commit()
        return World(
            lead_a=lead_a.id,
            csp_a1=csp_a1.id,
            csp_a2=csp_a2.id,
            lead_b=lead_b.id,
            csp_b1=csp_b1.id,
            users={k: u.id for k, u in people.items()},
            emails={k: u.email for k, u in people.items()},
            round_a=round_a.id,
            contribution_a1=by_csp[csp_a1.id],
            contribution_a2=by_csp[csp_a2.id],
            round_b=round_b.id,
            contribution_b1=by_csp[csp_b1.id],
            section_a=section_a.id,
        )


def csrf_token(client, path: str) -> str:
    response = client.get(path)
    match = CSRF_RE.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {path} ({response.status_code})"
    return match.group(1)


def sign_in(client, email: str, password: str = PASSWORD):
    token = csrf_token(client, "/sign-in")
    response = client.post("/sign-in", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response


def post_form(client, path: str, data: dict | None = None, follow_redirects: bool = False, page: str | None = None):
    """POST to a page the way a browser does: with the CSRF token from the page."""
    token = csrf_token(client, page or path)
    return client.post(path, data={**(data or {}), "csrf_token": token}, follow_redirects=follow_redirects)


@pytest.fixture
def signed_in(app, world):
    """signed_in('lead_admin') -> a test client signed in as that world user."""

    def _client(who: str):
        c = app.test_client()
        sign_in(c, world.emails[who])
        return c

    return _client
