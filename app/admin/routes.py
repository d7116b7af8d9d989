from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app.admin import bp, people
from app.admin.forms import ActivityFilterForm, CSPForm, EditUserForm, InviteUserForm, RequireTwoFactorForm
from app.extensions import db
from app.forms import ActionForm, as_id
from app.models import Role
from app.models.base import utcnow
from app.policy import authorise, get_csp_or_404, get_user_or_404, rule_required
from app.services import ServiceError, accounts, audit, organisations, pages, two_factor


def _organisation_choices(include_inactive_id: int | None = None) -> list[SelectChoice]:
    lead = current_user.lead_bidder
    csps = organisations.csps_for(current_user, active_only=True, including_id=include_inactive_id)
    choices = [SelectChoice(lead.id, f"{lead.name} (lead bidder)")]
    choices += [SelectChoice(c.id, c.name) for c in csps]
    return choices


# --- organisation and CSPs --------------------------------------------------------------------

@bp.get("/organisation")
@rule_required("organisation.view")
def organisation():
    lead = current_user.lead_bidder
    csps = organisations.csps_for(current_user)
    counts = organisations.active_user_counts(current_user)
    return render_template("admin/organisation.html", title=lead.name, lead=lead, csps=csps, counts=counts)


@bp.route("/csps/new", methods=["GET", "POST"])
@rule_required("organisation.manage")
def add_csp():
    form = CSPForm()
    if form.validate_on_submit():
        try:
            csp = organisations.add_csp(current_user, form.name.data, form.short_name.data, form.area.data)
        except ServiceError as exc:
            form.add_error(exc.field, exc.message)
        else:
            db.session.commit()
            flash(f"{csp.name} has been added", "success")
            return redirect(url_for("admin.csp", csp_id=csp.id))
    return render_template("admin/csp_form.html", title="Add a Community Safety Partnership", form=form), (
        400 if form.errors else 200
    )


@bp.get("/csps/<int:csp_id>")
@rule_required("organisation.view")
def csp(csp_id: int):
    csp = get_csp_or_404(current_user, csp_id)
    users = accounts.users_of(current_user, csp)
    two_factor_form = RequireTwoFactorForm(data={"required": "yes" if csp.two_factor_required else "no"})
    return render_template("admin/csp.html", title=csp.name, csp=csp, users=users, action_form=ActionForm(),
                           two_factor_form=two_factor_form)


@bp.post("/csps/<int:csp_id>/two-factor")
@rule_required("csp.require_two_factor")
def require_two_factor(csp_id: int):
    csp = get_csp_or_404(current_user, csp_id)
    authorise("csp.require_two_factor", csp)
    form = RequireTwoFactorForm()
    if form.validate_on_submit():
        if organisations.set_two_factor_required(current_user, csp, form.required.data == "yes"):
            db.session.commit()
            flash(f"Everyone at {csp.name} must now use two-factor sign-in" if csp.two_factor_required
                  else f"People at {csp.name} now choose whether to use two-factor sign-in", "success")
        return redirect(url_for("admin.csp", csp_id=csp.id))
    users = accounts.users_of(current_user, csp)
    return render_template("admin/csp.html", title=csp.name, csp=csp, users=users, action_form=ActionForm(),
                           two_factor_form=form), 400


@bp.route("/csps/<int:csp_id>/edit", methods=["GET", "POST"])
@rule_required("organisation.manage")
def edit_csp(csp_id: int):
    csp = get_csp_or_404(current_user, csp_id)
    form = CSPForm(obj=csp)
    if form.validate_on_submit():
        try:
            organisations.update_csp(current_user, csp, form.name.data, form.short_name.data, form.area.data)
        except ServiceError as exc:
            form.add_error(exc.field, exc.message)
        else:
            db.session.commit()
            flash(f"{csp.name} has been updated", "success")
            return redirect(url_for("admin.csp", csp_id=csp.id))
    return render_template("admin/csp_form.html", title=f"Change {csp.name}", form=form, csp=csp), (
        400 if form.errors else 200
    )


@bp.route("/csps/<int:csp_id>/deactivate", methods=["GET", "POST"])
@rule_required("organisation.manage")
def deactivate_csp(csp_id: int):
    csp = get_csp_or_404(current_user, csp_id)
    form = ActionForm()
    if form.validate_on_submit():
        count = organisations.deactivate_csp(current_user, csp)
        db.session.commit()
        flash(f"{csp.name} has been deactivated, with {count} accounts", "success")
        return redirect(url_for("admin.csp", csp_id=csp.id))
    return render_template("admin/confirm_deactivate_csp.html", title=f"Deactivate {csp.name}", csp=csp, form=form)


@bp.post("/csps/<int:csp_id>/reactivate")
@rule_required("organisation.manage")
def reactivate_csp(csp_id: int):
    csp = get_csp_or_404(current_user, csp_id)
    form = ActionForm()
    if form.validate_on_submit():
        organisations.reactivate_csp(current_user, csp)
        db.session.commit()
        flash(f"{csp.name} has been reactivated", "success")
    return redirect(url_for("admin.csp", csp_id=csp.id))


# --- users ------------------------------------------------------------------------------------

@bp.get("/users")
@rule_required("organisation.manage")
def users():
    people, status = accounts.users_for(current_user, request.args.get("status", "active"), request.args.get("page"))
    return render_template("admin/users.html", title="Users", people=people, status=status)


@bp.route("/users/invite", methods=["GET", "POST"])
@rule_required("organisation.manage")
def invite_user():
    form = InviteUserForm()
    form.organisation.choices = _organisation_choices()
    if request.method == "GET" and as_id(request.args.get("organisation")):
        form.organisation.data = as_id(request.args.get("organisation"))
        org = organisations.organisation_for(current_user, form.organisation.data)
        if org is not None and not org.is_lead_bidder:
            form.role.data = Role.CSP_MANAGER.value
    return people.invite(form, _chosen_organisation, lambda person: url_for("admin.user", user_id=person.id),
                         url_for("admin.users"))


def _chosen_organisation(form):
    return organisations.organisation_for(current_user, form.organisation.data)


@bp.get("/users/<int:user_id>")
@rule_required("organisation.manage")
def user(user_id: int):
    person = get_user_or_404(current_user, user_id)
    events = audit.events_about(current_user, person, limit=20)
    return render_template(
        "admin/user.html", title=person.full_name, person=person, events=events, action_form=ActionForm()
    )


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@rule_required("organisation.manage")
def edit_user(user_id: int):
    person = get_user_or_404(current_user, user_id)
    form = EditUserForm(
        data={
            "full_name": person.full_name,
            "email": person.email,
            "job_title": person.job_title,
            "organisation": person.organisation_id,
            "role": person.role.value,
        }
    )
    form.organisation.choices = _organisation_choices(include_inactive_id=person.organisation_id)
    return people.change(person, form, _chosen_organisation, url_for("admin.user", user_id=person.id))


@bp.route("/users/<int:user_id>/deactivate", methods=["GET", "POST"])
@rule_required("user.deactivate")
def deactivate_user(user_id: int):
    person = get_user_or_404(current_user, user_id)
    authorise("user.deactivate", person)
    return people.deactivate(person, url_for("admin.user", user_id=person.id))


@bp.post("/users/<int:user_id>/reactivate")
@rule_required("organisation.manage")
def reactivate_user(user_id: int):
    person = get_user_or_404(current_user, user_id)
    return people.reactivate(person, url_for("admin.user", user_id=person.id))


@bp.post("/users/<int:user_id>/two-factor/reset")
@rule_required("user.reset_two_factor")
def reset_two_factor(user_id: int):
    person = get_user_or_404(current_user, user_id)
    authorise("user.reset_two_factor", person)
    return people.button(lambda: two_factor.reset(current_user, person),
                         f"{person.full_name}'s two-factor sign-in has been reset and they have been signed out",
                         url_for("admin.user", user_id=person.id))


@bp.post("/users/<int:user_id>/resend-invitation")
@rule_required("organisation.manage")
def resend_invitation(user_id: int):
    person = get_user_or_404(current_user, user_id)
    return people.resend_invitation(person, url_for("admin.user", user_id=person.id))


def _activity_filter() -> tuple[ActivityFilterForm, bool]:
    """The filter form read from the query string, and whether what it holds can be used."""
    form = ActivityFilterForm(formdata=request.args)
    form.fill_choices(audit.activity_choices(current_user))
    return form, form.validate()


@bp.get("/activity")
@rule_required("organisation.manage")
def activity():
    form, valid = _activity_filter()
    if not valid:
        # The events are not narrowed by a date that is not a date: the form says what to fix.
        events = pages.empty()
        return render_template("admin/activity.html", title="Activity", events=events, form=form), 400
    events = audit.activity_for(current_user, request.args.get("page"), form.filters())
    csv_url = url_for("admin.activity_csv", **{k: v for k, v in request.args.lists() if k != "page"})
    return render_template("admin/activity.html", title="Activity", events=events, form=form, csv_url=csv_url)


@bp.get("/activity.csv")
@rule_required("organisation.export_activity")
def activity_csv():
    form, valid = _activity_filter()
    if not valid:
        return redirect(url_for("admin.activity", **request.args.to_dict(flat=False)))
    data = audit.activity_csv(current_user, form.filters())
    stamp = utcnow().strftime("%Y-%m-%d")
    return Response(
        data,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="activity-{stamp}.csv"', "Cache-Control": "no-store"},
    )
