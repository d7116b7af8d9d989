"""A CSP manager runs their own CSP's team: sees its people, invites, changes and deactivates its
contributors, through the same services (and rules) as the lead bidder administrator's pages."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Organisation, Role, User, UserSession
from app.policy import NotAllowed
from app.services import ServiceError, accounts
from app.services.outbox import deliver_due
from tests.conftest import csrf_token, post_form, sign_in

LINK_RE = re.compile(r"http://localhost(/\S+)")
NEW_EMAIL = "jo.bloggs@reading.example.org"


def _invite(client, email=NEW_EMAIL, role="csp_contributor", **extra):
    return post_form(
        client, "/team/invite",
        {"full_name": "Jo Bloggs", "email": email, "job_title": "Youth worker", "role": role, **extra},
    )


def _banner(client, response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    match = re.search(r'<p class="govuk-notification-banner__heading">\s*(.*?)\s*</p>', page, re.S)
    assert match, "no success banner"
    return html.unescape(match.group(1))


def _user(app, user_id=None, email=None) -> User:
    with app.app_context():
        if email:
            return db.session.scalar(select(User).where(User.email == email))
        return db.session.get(User, user_id)


# --- what a manager sees -------------------------------------------------------------------------------

def test_only_csp_managers_have_your_team_in_their_navigation(world, signed_in):
    assert 'href="/team"' in signed_in("csp_manager").get("/home").get_data(as_text=True)
    for who in ("csp_contributor", "lead_admin", "lead_staff", "viewer"):
        client = signed_in(who)
        assert "Your team" not in client.get("/home").get_data(as_text=True), who
        assert client.get("/team").status_code == 403, who


def test_the_team_page_lists_only_the_managers_own_csp(app, world, signed_in):
    manager = signed_in("csp_manager")
    _invite(manager)
    page = manager.get("/team").get_data(as_text=True)
    assert "Reading Community Safety Partnership" in page
    assert 'href="/team" aria-current="true"' in page
    for who in ("csp_manager", "csp_contributor"):
        assert world.emails[who] in page
    for who in ("other_csp_manager", "lead_admin", "lead_staff", "other_lead_csp_manager"):
        assert world.emails[who] not in page, who
    assert NEW_EMAIL in page and "Invited" in page and "Not signed up yet" in page
    assert "3 people" in page
    assert 'class="pb-table-scroll"' in page and '<table class="govuk-table' in page


def test_a_manager_sees_a_person_but_cannot_act_on_themselves_or_another_manager(app, world, signed_in):
    manager = signed_in("csp_manager")
    contributor = manager.get(f"/team/{world.users['csp_contributor']}").get_data(as_text=True)
    assert "govuk-summary-list" in contributor and world.emails["csp_contributor"] in contributor
    assert "Change details" in contributor and "Deactivate account" in contributor
    me = manager.get(f"/team/{world.users['csp_manager']}").get_data(as_text=True)
    assert "Deactivate account" not in me and "Change details" not in me
    assert "You cannot change your own role" in me
    for path in ("change", "deactivate"):
        assert manager.get(f"/team/{world.users['csp_manager']}/{path}").status_code == 403


def test_another_csps_or_the_lead_bidders_people_are_not_found(world, signed_in):
    manager = signed_in("csp_manager")
    for who in ("other_csp_manager", "lead_admin", "lead_staff", "other_lead_csp_contributor"):
        user_id = world.users[who]
        for path in (f"/team/{user_id}", f"/team/{user_id}/change", f"/team/{user_id}/deactivate"):
            assert manager.get(path).status_code == 404, (who, path)
        assert post_form(manager, f"/team/{user_id}/deactivate", page="/team").status_code == 404, who


# --- inviting -------------------------------------------------------------------------------------------

def test_a_manager_invites_a_contributor_who_signs_up_and_signs_in(app, world, signed_in, smtp_server):
    manager = signed_in("csp_manager")
    page = manager.get("/team/invite").get_data(as_text=True)
    assert 'name="organisation"' not in page  # always their own CSP
    assert 'value="csp_contributor"' in page and 'value="csp_manager"' in page
    assert 'value="lead_admin"' not in page and 'value="lead_staff"' not in page and 'value="viewer"' not in page

    response = _invite(manager)
    assert _banner(manager, response) == f"Invitation sent to {NEW_EMAIL}"
    invited = _user(app, email=NEW_EMAIL)
    assert (invited.role, invited.organisation_id, invited.lead_bidder_id) == (
        Role.CSP_CONTRIBUTOR, world.csp_a1, world.lead_a)
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.invited"))
        assert event.actor_id == world.users["csp_manager"] and event.object_id == invited.id

    # The same invitation email as an administrator's, through the outbox and a real SMTP server.
    with app.app_context():
        assert deliver_due().sent == 1
    [message] = smtp_server.to(NEW_EMAIL)
    assert message.subject == "You have been invited to Partnership Bid"
    assert "as a CSP contributor for Reading Community Safety Partnership" in message.text
    link = LINK_RE.search(message.text).group(1)

    newcomer = app.test_client()
    password = "kestrel lantern orchard"
    token = csrf_token(newcomer, link)
    response = newcomer.post(link, data={"password": password, "confirm": password, "csrf_token": token})
    assert response.status_code == 302
    post_form(newcomer, "/sign-out", page="/home")

    sign_in(newcomer, NEW_EMAIL, password)
    home = newcomer.get("/home").get_data(as_text=True)
    assert "Reading Community Safety Partnership" in home
    assert "Your team" not in home  # a contributor
    contribution = newcomer.get(f"/contributions/{world.contribution_a1}")
    assert contribution.status_code == 200
    assert newcomer.get(f"/contributions/{world.contribution_a2}").status_code == 404
    assert "Active" in manager.get(f"/team/{invited.id}").get_data(as_text=True)


def test_the_lead_admin_sees_and_manages_people_a_manager_invited(app, world, signed_in):
    _invite(signed_in("csp_manager"))
    invited = _user(app, email=NEW_EMAIL)
    admin = signed_in("lead_admin")
    users = admin.get("/admin/users").get_data(as_text=True)
    assert NEW_EMAIL in users and f"/admin/users/{invited.id}" in users
    csp_page = admin.get(f"/admin/csps/{world.csp_a1}").get_data(as_text=True)
    assert NEW_EMAIL in csp_page
    response = post_form(admin, f"/admin/users/{invited.id}/deactivate")
    assert response.status_code == 302
    assert _user(app, invited.id).active is False


def test_a_manager_may_invite_another_manager(app, world, signed_in):
    response = _invite(signed_in("csp_manager"), role="csp_manager")
    assert response.status_code == 302
    assert _user(app, email=NEW_EMAIL).role == Role.CSP_MANAGER


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"email": "MANAGER@a2.example.org"}, "email", "A person with this email address already has an account"),
        ({"email": "contributor@b1.example.org"}, "email", "A person with this email address already has an account"),
        ({"email": "not an email"}, "email", "Enter an email address in the correct format, like name@example.com"),
        ({"role": "lead_admin"}, "role", "Select one of the options shown"),
        ({"role": ""}, "role", "Select their role"),
        ({"full_name": ""}, "full_name", "Enter their full name"),
    ],
)
def test_invitation_errors_are_shown_the_govuk_way(app, world, signed_in, data, field, message):
    manager = signed_in("csp_manager")
    response = _invite(manager, **data)
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert "There is a problem" in page and f'href="#{field}' in page
    assert page.count(message) == 2  # in the summary and by the field
    assert 'value="Youth worker"' in page  # what was typed is kept
    with app.app_context():
        assert db.session.scalar(select(User).where(User.full_name == "Jo Bloggs")) is None


# --- changing -------------------------------------------------------------------------------------------

def test_a_manager_changes_a_contributors_name_and_makes_them_a_manager(app, world, signed_in):
    manager = signed_in("csp_manager")
    url = f"/team/{world.users['csp_contributor']}/change"
    page = manager.get(url).get_data(as_text=True)
    assert 'value="csp_contributor" checked' in page
    assert 'name="email"' not in page and 'name="organisation"' not in page
    response = post_form(manager, url, {"full_name": "Alex Morgan", "job_title": "", "role": "csp_manager"})
    assert _banner(manager, response) == "Alex Morgan's details have been updated"
    person = _user(app, world.users["csp_contributor"])
    assert (person.full_name, person.role, person.organisation_id) == ("Alex Morgan", Role.CSP_MANAGER, world.csp_a1)
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.updated"))
        assert event.actor_id == world.users["csp_manager"]
        assert event.detail["changes"]["role"] == ["csp_contributor", "csp_manager"]
    # Now a manager: only the lead bidder administrator changes or deactivates them.
    assert manager.get(url).status_code == 403
    refused = manager.get(f"/team/{world.users['csp_contributor']}/deactivate")
    assert refused.status_code == 403
    assert "Only a lead bidder administrator can deactivate a CSP manager" in refused.get_data(as_text=True)


def test_a_change_posted_for_themselves_changes_nothing(app, world, signed_in):
    manager = signed_in("csp_manager")
    response = post_form(manager, f"/team/{world.users['csp_manager']}/change",
                         {"full_name": "Someone Else", "role": "csp_contributor"}, page="/team")
    assert response.status_code == 403
    assert "You cannot change your own role" in response.get_data(as_text=True)
    me = _user(app, world.users["csp_manager"])
    assert me.role == Role.CSP_MANAGER and me.full_name != "Someone Else"


# --- deactivating -----------------------------------------------------------------------------------------

def test_a_manager_deactivates_and_reactivates_a_contributor(app, world, signed_in):
    contributor = signed_in("csp_contributor")
    manager = signed_in("csp_manager")
    target = world.users["csp_contributor"]
    confirm = manager.get(f"/team/{target}/deactivate").get_data(as_text=True)
    assert "Are you sure you want to deactivate" in confirm and f'href="/team/{target}"' in confirm
    response = post_form(manager, f"/team/{target}/deactivate")
    assert _banner(manager, response).endswith("account has been deactivated and they have been signed out")
    # Signed out at once, as when the administrator deactivates someone.
    assert contributor.get("/home").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(UserSession).where(UserSession.user_id == target)) is None
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == target)).all()
        assert "user.deactivated" in actions
    assert "Deactivated" in manager.get("/team").get_data(as_text=True)

    response = post_form(manager, f"/team/{target}/reactivate", page=f"/team/{target}")
    assert _banner(manager, response).endswith("account has been reactivated")
    assert _user(app, target).active is True


def test_a_manager_sends_a_new_invitation(app, world, signed_in, smtp_server):
    manager = signed_in("csp_manager")
    _invite(manager)
    invited = _user(app, email=NEW_EMAIL)
    page = manager.get(f"/team/{invited.id}").get_data(as_text=True)
    assert "Send a new invitation" in page
    response = post_form(manager, f"/team/{invited.id}/resend-invitation", page=f"/team/{invited.id}")
    assert _banner(manager, response).startswith(f"A new invitation has been sent to {NEW_EMAIL}")
    with app.app_context():
        deliver_due()
    assert len(smtp_server.to(NEW_EMAIL)) == 2


# --- the services obey the same rules (the command line too) ---------------------------------------------

def _people(app, world):
    manager = db.session.get(User, world.users["csp_manager"])
    return manager, {who: db.session.get(User, world.users[who]) for who in world.users}


def test_the_services_refuse_what_a_manager_may_not_do(app, world):
    with app.test_request_context("/"):
        manager, people = _people(app, world)
        own_csp = manager.organisation
        other_csp = db.session.get(Organisation, world.csp_a2)
        lead = db.session.get(Organisation, world.lead_a)

        for role in (Role.LEAD_ADMIN, Role.LEAD_STAFF, Role.VIEWER):  # never a lead bidder role
            with pytest.raises(NotAllowed) as refused:
                accounts.invite_user(manager, "x@example.org", "X", role, own_csp)
            assert refused.value.status == 403 and refused.value.message == "Choose CSP manager or CSP contributor"
        for org in (other_csp, lead):  # never another CSP, nor the lead bidder's office
            with pytest.raises(NotAllowed) as refused:
                accounts.invite_user(manager, "x@example.org", "X", Role.CSP_CONTRIBUTOR, org)
            assert refused.value.status == 404

        contributor = people["csp_contributor"]
        with pytest.raises(NotAllowed, match="You cannot change your own role"):
            accounts.update_user(manager, manager, "Me", None, Role.CSP_CONTRIBUTOR, own_csp)
        second_manager = accounts.invite_user(manager, "second@a1.example.org", "Second", Role.CSP_MANAGER, own_csp)
        with pytest.raises(NotAllowed, match="Only a lead bidder administrator can change a CSP manager"):
            accounts.update_user(manager, second_manager, "X", None, Role.CSP_CONTRIBUTOR, own_csp)
        with pytest.raises(NotAllowed) as refused:
            accounts.update_user(manager, people["other_csp_manager"], "X", None, Role.CSP_MANAGER, other_csp)
        assert refused.value.status == 404
        with pytest.raises(NotAllowed) as refused:  # a contributor cannot be moved to another CSP
            accounts.update_user(manager, contributor, "X", None, Role.CSP_CONTRIBUTOR, other_csp)
        assert refused.value.status == 404
        with pytest.raises(NotAllowed) as refused:  # nor given a lead bidder role
            accounts.update_user(manager, contributor, "X", None, Role.LEAD_ADMIN, own_csp)
        assert refused.value.message == "Choose CSP manager or CSP contributor"

        with pytest.raises(NotAllowed, match="You cannot deactivate your own account"):
            accounts.deactivate_user(manager, manager)
        with pytest.raises(NotAllowed, match="Only a lead bidder administrator can deactivate a CSP manager"):
            accounts.deactivate_user(manager, second_manager)
        for who in ("other_csp_manager", "lead_staff"):
            with pytest.raises(NotAllowed) as refused:
                accounts.deactivate_user(manager, people[who])
            assert refused.value.status == 404
        with pytest.raises(NotAllowed) as refused:  # a contributor runs no team
            accounts.invite_user(contributor, "x@example.org", "X", Role.CSP_CONTRIBUTOR, own_csp)
        assert refused.value.status == 403 and refused.value.kind == "role"
        db.session.rollback()


def test_the_email_address_is_unique_for_managers_as_for_administrators(app, world):
    with app.test_request_context("/"):
        manager, people = _people(app, world)
        with pytest.raises(ServiceError) as taken:
            accounts.invite_user(manager, "  Admin@A.example.org ", "X", Role.CSP_CONTRIBUTOR, manager.organisation)
        assert (taken.value.field, taken.value.message) == ("email", accounts.EMAIL_TAKEN)
        db.session.rollback()
