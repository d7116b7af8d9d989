"""A CSP manager's forms for their team: the lead bidder administrator's, without the organisation
(always the manager's own CSP), with only the CSP's roles."""

from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput
from wtforms import SubmitField

from app.admin.forms import InviteUserForm, role_field
from app.models import Role

TEAM_ROLES = (Role.CSP_CONTRIBUTOR, Role.CSP_MANAGER)


class TeamInviteForm(InviteUserForm):
    organisation = None
    role = role_field(TEAM_ROLES)


class TeamChangeForm(TeamInviteForm):
    """Name, job title and role: the email address (how they sign in) is the administrator's to change."""

    email = None
    submit = SubmitField("Save changes", widget=GovSubmitInput())
