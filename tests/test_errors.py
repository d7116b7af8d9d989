"""Styled error pages; a 500 shows a reference and never a traceback."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import post_form


def test_404_page(client):
    response = client.get("/no-such-page")
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "<title>Page not found – Partnership Bid</title>" in page
    assert "govuk-heading-l" in page


def test_403_page(signed_in):
    response = signed_in("csp_manager").get("/admin/users")
    assert response.status_code == 403
    assert "You do not have permission to see this page" in response.get_data(as_text=True)


@pytest.mark.parametrize("number", [str(2**31 - 1), str(2**31), str(2**63), "9" * 30])
@pytest.mark.parametrize(
    "path", ["/rounds/{n}", "/admin/users/{n}", "/exports/{n}", "/contributions/{n}/exports", "/bid/rounds/{n}"]
)
def test_ids_beyond_the_database_are_not_found(signed_in, path, number):
    """An id in an address as large as you like is "Page not found", never a 500 (the id columns
    are 32-bit on PostgreSQL; SQLite cannot even be asked about a number beyond 64 bits)."""
    response = signed_in("lead_admin").get(path.format(n=number))
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_an_id_too_large_in_a_query_string_finds_nothing(signed_in):
    response = signed_in("lead_admin").get(f"/admin/users/invite?organisation={2**31}")
    assert response.status_code == 200  # the organisation is simply not chosen


def test_405_page(client):
    response = client.post("/accessibility")
    assert response.status_code == 405
    assert "Sorry, there is a problem with your request" in response.get_data(as_text=True)


def test_413_page(make_app):
    app = make_app(MAX_CONTENT_LENGTH=1024)
    response = app.test_client().post("/sign-in", data={"email": "x" * 5000})
    assert response.status_code == 413
    assert "The file or form you sent is too large" in response.get_data(as_text=True)


@pytest.fixture
def broken_app(make_app):
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("secret internals: password=hunter2")

    return app


def test_500_page_shows_a_reference_not_a_traceback(broken_app, caplog):
    with caplog.at_level(logging.ERROR):
        response = broken_app.test_client().get("/boom-for-test")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in page
    assert "Traceback" not in page and "hunter2" not in page and "RuntimeError" not in page
    reference = page.split('give this reference: <strong class="pb-nowrap">')[1].split("<")[0]
    assert len(reference) == 8
    assert any(reference in record.getMessage() for record in caplog.records)


def test_static_assets_are_served(client):
    assert client.get("/static/dist/app.css").status_code == 200
    assert client.get("/static/dist/govuk-frontend.min.js").status_code == 200
    assert client.get("/static/js/app.mjs").status_code == 200


def test_sign_out_from_an_old_page_asks_again(signed_in):
    admin = signed_in("lead_admin")
    response = admin.post("/sign-out", data={"csrf_token": "stale"})
    assert response.status_code == 200
    assert "Do you want to sign out?" in response.get_data(as_text=True)
    assert admin.get("/home").status_code == 200
    assert post_form(admin, "/sign-out", page="/home").status_code == 302
    assert admin.get("/home").status_code == 302
