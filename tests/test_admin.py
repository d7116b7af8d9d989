"""Lead admins manage their organisation's CSPs and users; everyone else only looks."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Organisation, Role, User
from tests.conftest import post_form


def test_organisation_page_lists_the_csps(world, signed_in):
    page = signed_in("lead_staff").get("/admin/organisation").get_data(as_text=True)
    assert "Thames Valley OPCC" in page
    assert "Reading Community Safety Partnership" in page
    assert "Safer Slough Partnership" in page
    assert "Southampton" not in page  # another lead bidder's CSP
    assert "Add a Community Safety Partnership" not in page  # staff cannot change it


def test_admin_adds_a_csp(app, world, signed_in):
    admin = signed_in("lead_admin")
    response = post_form(
        admin, "/admin/csps/new", {"name": "  Safer   MK ", "short_name": "Safer MK", "area": "Milton Keynes"}
    )
    assert response.status_code == 302
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert '<p class="govuk-notification-banner__heading">Safer MK has been added</p>' in page
    with app.app_context():
        csp = db.session.scalar(select(Organisation).where(Organisation.name == "Safer MK"))
        assert csp.lead_bidder_id == world.lead_a
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "csp.added"))
        assert event.actor_id == world.users["lead_admin"] and event.lead_bidder_id == world.lead_a


def test_csp_names_are_unique_within_a_lead_bidder_only(world, signed_in):
    admin = signed_in("lead_admin")
    duplicate = post_form(admin, "/admin/csps/new", {"name": "reading community safety partnership"})
    assert duplicate.status_code == 400
    assert "A CSP with this name already exists" in duplicate.get_data(as_text=True)
    # Lead bidder B may have a CSP with the same name as one of A's.
    other = post_form(
        signed_in("other_lead_admin"), "/admin/csps/new", {"name": "Reading Community Safety Partnership"}
    )
    assert other.status_code == 302


def test_csp_form_errors(world, signed_in):
    response = post_form(signed_in("lead_admin"), "/admin/csps/new", {"name": "", "area": "x" * 121})
    page = response.get_data(as_text=True)
    assert "Enter the partnership&#39;s name" in page or "Enter the partnership's name" in page
    assert "Area must be 120 characters or fewer" in page
    assert "<title>Error: " in page


def test_admin_edits_a_csp(app, world, signed_in):
    admin = signed_in("lead_admin")
    url = f"/admin/csps/{world.csp_a1}/edit"
    assert 'value="Reading Community Safety Partnership"' in admin.get(url).get_data(as_text=True)
    response = post_form(admin, url, {"name": "Reading CSP", "short_name": "", "area": "Berkshire"})
    assert response.status_code == 302
    with app.app_context():
        csp = db.session.get(Organisation, world.csp_a1)
        assert (csp.name, csp.short_name, csp.area) == ("Reading CSP", None, "Berkshire")


def test_deactivating_a_csp_signs_out_its_people(app, world, signed_in):
    manager = signed_in("csp_manager")
    admin = signed_in("lead_admin")
    confirm = admin.get(f"/admin/csps/{world.csp_a1}/deactivate").get_data(as_text=True)
    assert "Are you sure you want to deactivate Reading Community Safety Partnership?" in confirm
    response = post_form(admin, f"/admin/csps/{world.csp_a1}/deactivate")
    assert response.status_code == 302
    assert manager.get("/home").status_code == 302
    with app.app_context():
        assert db.session.get(User, world.users["csp_manager"]).active is False
        assert db.session.get(User, world.users["csp_contributor"]).active is False
        assert db.session.get(User, world.users["other_csp_manager"]).active is True
    # The CSP no longer appears as a choice for invitations.
    invite_page = admin.get("/admin/users/invite").get_data(as_text=True)
    assert f'<option value="{world.csp_a1}"' not in invite_page

    post_form(admin, f"/admin/csps/{world.csp_a1}/reactivate", page=f"/admin/csps/{world.csp_a1}")
    with app.app_context():
        assert db.session.get(Organisation, world.csp_a1).active is True


def test_users_list_shows_only_our_people(world, signed_in):
    page = signed_in("lead_admin").get("/admin/users").get_data(as_text=True)
    for who in ("lead_staff", "viewer", "csp_manager", "csp_contributor", "other_csp_manager"):
        assert world.emails[who] in page
    assert world.emails["other_lead_admin"] not in page
    assert world.emails["other_lead_csp_manager"] not in page


def test_admin_invites_staff_to_the_lead_bidder(app, world, signed_in):
    response = post_form(
        signed_in("lead_admin"),
        "/admin/users/invite",
        {
            "full_name": "Sam Carter",
            "email": "sam@tvpcc.example.org",
            "organisation": str(world.lead_a),
            "role": "lead_staff",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "sam@tvpcc.example.org"))
        assert user.role == Role.LEAD_STAFF and user.password_hash is None and user.status_label == "Invited"


def test_invite_page_can_start_from_a_csp(world, signed_in):
    page = signed_in("lead_admin").get(f"/admin/users/invite?organisation={world.csp_a2}").get_data(as_text=True)
    assert f'<option value="{world.csp_a2}" selected>' in page
    assert 'value="csp_manager" checked' in page


def test_admin_changes_someones_role_and_organisation(app, world, signed_in):
    admin = signed_in("lead_admin")
    url = f"/admin/users/{world.users['csp_contributor']}/edit"
    page = admin.get(url).get_data(as_text=True)
    assert 'value="csp_contributor" checked' in page
    assert f'<option value="{world.csp_a1}" selected>' in page
    response = post_form(
        admin,
        url,
        {"full_name": "Promoted Person", "email": world.emails["csp_contributor"], "job_title": "",
         "organisation": str(world.csp_a2), "role": "csp_manager"},
    )
    assert response.status_code == 302
    with app.app_context():
        user = db.session.get(User, world.users["csp_contributor"])
        assert (user.full_name, user.role, user.organisation_id) == ("Promoted Person", Role.CSP_MANAGER, world.csp_a2)
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.updated"))
        assert event.detail["changes"]["role"] == ["csp_contributor", "csp_manager"]


def test_admin_cannot_demote_or_deactivate_themselves(world, signed_in):
    admin = signed_in("lead_admin")
    me = world.users["lead_admin"]
    response = post_form(
        admin,
        f"/admin/users/{me}/edit",
        {"full_name": "Me", "email": world.emails["lead_admin"], "organisation": str(world.lead_a),
         "role": "lead_staff"},
    )
    assert response.status_code == 400
    assert "You cannot remove your own administrator role" in response.get_data(as_text=True)
    assert admin.get(f"/admin/users/{me}/deactivate").status_code == 403
    assert "Deactivate account" not in admin.get(f"/admin/users/{me}").get_data(as_text=True)


def test_deactivated_user_can_be_reactivated(app, world, signed_in):
    admin = signed_in("lead_admin")
    target = world.users["viewer"]
    post_form(admin, f"/admin/users/{target}/deactivate")
    assert "Deactivated" in admin.get("/admin/users?status=deactivated").get_data(as_text=True)
    post_form(admin, f"/admin/users/{target}/reactivate", page=f"/admin/users/{target}")
    with app.app_context():
        assert db.session.get(User, target).active is True


def test_activity_log_records_who_did_what(world, signed_in):
    admin = signed_in("lead_admin")
    post_form(admin, "/admin/csps/new", {"name": "Safer Aylesbury"})
    page = admin.get("/admin/activity").get_data(as_text=True)
    assert "Added Safer Aylesbury" in page
    assert "Person" in page  # the admin's name from the factory
    other = signed_in("other_lead_admin").get("/admin/activity").get_data(as_text=True)
    assert "Safer Aylesbury" not in other


def test_csp_user_home_names_their_partnership(world, signed_in):
    page = signed_in("csp_contributor").get("/home").get_data(as_text=True)
    assert "a CSP contributor for Reading Community Safety Partnership" in page
    assert "Organisation</a>" not in page  # no lead bidder navigation
