"""Your team: a CSP manager sees the people of their own CSP, invites new ones, changes and
deactivates its contributors. The steps are the lead bidder administrator's (app/admin/people.py);
the rulebook's team.* rules say what a manager may do to whom (app/policy/rules.py)."""

from flask import render_template, request, url_for
from flask_login import current_user

from app.admin import people
from app.forms import ActionForm
from app.policy import authorise, get_user_or_404, rule_required
from app.services import accounts
from app.team import bp
from app.team.forms import TeamChangeForm, TeamInviteForm


def _member(user_id: int, action: str):
    """A person of the manager's own CSP the action is allowed on: 404 for anyone else's."""
    return authorise(action, get_user_or_404(current_user, user_id))


def _person_url(person) -> str:
    return url_for("team.person", user_id=person.id)


def _own_csp(form):
    return current_user.organisation


@bp.get("")
@rule_required("team.view")
def index():
    members, _ = accounts.users_for(current_user, "all", request.args.get("page"))
    return render_template("team/index.html", title="Your team", members=members, csp=current_user.organisation)


@bp.route("/invite", methods=["GET", "POST"])
@rule_required("team.invite")
def invite():
    return people.invite(TeamInviteForm(), _own_csp, _person_url, url_for("team.index"),
                         organisation=current_user.organisation)


@bp.get("/<int:user_id>")
@rule_required("team.view")
def person(user_id: int):
    member = _member(user_id, "team.view")
    return render_template("team/person.html", title=member.full_name, person=member, action_form=ActionForm())


@bp.route("/<int:user_id>/change", methods=["GET", "POST"])
@rule_required("team.change")
def change(user_id: int):
    member = _member(user_id, "team.change")
    form = TeamChangeForm(data={"full_name": member.full_name, "job_title": member.job_title,
                                "role": member.role.value})
    return people.change(member, form, _own_csp, _person_url(member))


@bp.route("/<int:user_id>/deactivate", methods=["GET", "POST"])
@rule_required("team.deactivate")
def deactivate(user_id: int):
    member = _member(user_id, "team.deactivate")
    return people.deactivate(member, _person_url(member))


@bp.post("/<int:user_id>/reactivate")
@rule_required("team.reactivate")
def reactivate(user_id: int):
    member = _member(user_id, "team.reactivate")
    return people.reactivate(member, _person_url(member))


@bp.post("/<int:user_id>/resend-invitation")
@rule_required("team.invite")
def resend_invitation(user_id: int):
    member = _member(user_id, "team.invite")
    return people.resend_invitation(member, _person_url(member))
