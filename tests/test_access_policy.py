"""Every route against every role, own and other organisation (see access_policy.py)."""

from __future__ import annotations

import pytest
from flask import url_for
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Role
from tests.access_policy import OTHER_TENANT, POLICY, ROLES, Route
from tests.conftest import sign_in_directly

BY_ENDPOINT = {route.endpoint: route for route in POLICY}


def test_every_route_is_in_the_policy_table(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    missing = sorted(endpoints - set(BY_ENDPOINT))
    stale = sorted(set(BY_ENDPOINT) - endpoints)
    assert not missing, f"Add these routes to tests/access_policy.py: {missing}"
    assert not stale, f"These routes no longer exist: {stale}"


def test_every_non_public_view_checks_sign_in(app):
    """A cheap guard against a route that forgot its decorator (the walker below proves it)."""
    for route in POLICY:
        if "anonymous" not in route.allowed:
            view = app.view_functions[route.endpoint]
            assert hasattr(view, "__wrapped__"), f"{route.endpoint} has no access decorator"


def _url(app, route: Route, world) -> str:
    with app.test_request_context():
        return url_for(route.endpoint, **route.url_values(app, world))


def _request(client, route: Route, url: str):
    return client.post(url, data={}) if route.method == "POST" else client.get(url)


def _audit_count(app) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action != "user.signed_in")
        )


@pytest.mark.parametrize("route", POLICY, ids=lambda r: r.endpoint)
def test_route_access_for_every_role(app, world, route: Route):
    url = _url(app, route, world)
    before = _audit_count(app)

    anonymous = _request(app.test_client(), route, url)
    if "anonymous" in route.allowed:
        assert anonymous.status_code < 500
        assert anonymous.status_code not in (401, 403, 404), f"anonymous: {anonymous.status_code}"
    else:
        assert anonymous.status_code == 302, f"anonymous got {anonymous.status_code}"
        assert anonymous.headers["Location"].startswith("/sign-in?next=")

    for role in ROLES:
        client = app.test_client()
        sign_in_directly(client, world.emails[role])
        response = _request(client, route, url)
        if role in route.allowed:
            assert response.status_code in (200, 302, 400), f"{role}: {response.status_code}"
            if response.status_code == 302:
                assert not response.headers["Location"].startswith("/sign-in"), f"{role} was signed out"
        else:
            assert response.status_code == 403, f"{role} should get 403, got {response.status_code}"

    # Requests without a CSRF token change nothing, whoever sends them.
    assert _audit_count(app) == before


@pytest.mark.parametrize("route", [r for r in POLICY if r.tenant_scoped], ids=lambda r: r.endpoint)
def test_other_lead_bidder_gets_404_for_our_objects(app, world, route: Route):
    url = _url(app, route, world)
    for own_role, other_user in OTHER_TENANT.items():
        client = app.test_client()
        sign_in_directly(client, world.emails[other_user])
        response = _request(client, route, url)
        if own_role in route.allowed:
            assert response.status_code == 404, f"{other_user}: {response.status_code}"
            body = response.get_data(as_text=True)
            assert "Thames Valley" not in body and "Reading" not in body
        else:
            # A role the view's decorator refuses gets 403 before anything is loaded. A role it
            # lets through meets the view's own checks (403), or the object is not found because
            # queries are scoped to the other lead bidder (app/tenancy.py): 404, revealing nothing.
            passes_decorator = Role(own_role) in getattr(app.view_functions[route.endpoint], "allowed_roles", ())
            expected = (403, 404) if passes_decorator else (403,)
            assert response.status_code in expected, f"{other_user}: {response.status_code}"


@pytest.mark.parametrize("route", [r for r in POLICY if r.csp_scoped], ids=lambda r: r.endpoint)
def test_other_csp_gets_404_for_our_csps_objects(app, world, route: Route):
    url = _url(app, route, world)
    for other in ("other_csp_manager",):
        client = app.test_client()
        sign_in_directly(client, world.emails[other])
        response = _request(client, route, url)
        assert response.status_code == 404, f"{other}: {response.status_code}"
