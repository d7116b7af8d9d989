"""flask demo seed and flask create-admin."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import Organisation, OrganisationKind, Role, User
from tests.conftest import sign_in


def test_demo_seed_loads_thames_valley_and_prints_working_passwords(app):
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        lead = db.session.scalar(select(Organisation).where(Organisation.kind == OrganisationKind.LEAD_BIDDER))
        csps = db.session.scalars(select(Organisation).where(Organisation.lead_bidder_id == lead.id)).all()
        assert lead.short_name == "Thames Valley OPCC"
        assert len(csps) == 14
        assert {"Reading Community Safety Partnership", "Safer MK", "South and Vale Community Safety Partnership"} <= {
            c.name for c in csps
        }
        managers = db.session.scalar(select(func.count()).where(User.role == Role.CSP_MANAGER))
        assert managers == 14
        for csp in csps:
            assert [u.role for u in csp.users] == [Role.CSP_MANAGER]
        roles = set(db.session.scalars(select(User.role).where(User.organisation_id == lead.id)))
        assert {Role.LEAD_ADMIN, Role.LEAD_STAFF} <= roles

    logins = dict(re.findall(r"^\s+(\S+@\S+)\s+(\S+)\s", result.output, re.MULTILINE))
    assert len(logins) == 17
    client = app.test_client()
    sign_in(client, "admin@tvpcc.example.org", logins["admin@tvpcc.example.org"])
    assert "Thames Valley" in client.get("/admin/organisation").get_data(as_text=True)

    again = app.test_cli_runner().invoke(args=["demo", "seed", "--if-empty"])
    assert again.exit_code == 0
    assert "admin@tvpcc.example.org" in again.output  # the saved logins are shown again
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Organisation)) == 15


def test_create_admin(app):
    result = app.test_cli_runner().invoke(
        args=[
            "create-admin",
            "--email",
            "Chief@Example.org",
            "--name",
            "Chief Executive",
            "--organisation",
            "Kent OPCC",
            "--password",
            "saffron delta kestrel meadow",
        ],
    )
    assert result.exit_code == 0, result.output
    client = app.test_client()
    sign_in(client, "chief@example.org", "saffron delta kestrel meadow")
    assert "Kent OPCC" in client.get("/home").get_data(as_text=True)


def test_create_admin_refuses_a_weak_password(app):
    result = app.test_cli_runner().invoke(
        args=[
            "create-admin",
            "--email",
            "a@example.org",
            "--name",
            "A",
            "--organisation",
            "Kent OPCC",
            "--password",
            "password1234",
        ],
    )
    assert result.exit_code != 0
    assert "too easy to guess" in result.output


def test_outbox_send_command(app, world, smtp_server):
    from tests.test_outbox import queue

    queue(app, world)
    result = app.test_cli_runner().invoke(args=["outbox", "send"])
    assert result.exit_code == 0
    assert "1 sent, 0 to retry, 0 failed" in result.output
    assert len(smtp_server.to("someone@example.org")) == 1
