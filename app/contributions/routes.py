from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from app.contributions import bp
from app.contributions.loading import editable, viewable
from app.extensions import db
from app.forms import ActionForm
from app.policy import CSP_MANAGER, SIGNED_IN, can, can_edit_contribution, can_submit_contribution, roles_required
from app.services import ServiceError, assignments
from app.services import contributions as service


@bp.get("/<int:contribution_id>")
@roles_required(SIGNED_IN)
def task_list(contribution_id: int):
    contribution = viewable(contribution_id)
    tasks = service.tasks(contribution)
    done = sum(1 for t in tasks if t.status == service.COMPLETED)
    return render_template(
        "contributions/task_list.html",
        title=f"{contribution.csp.name}: {contribution.round.title}",
        contribution=contribution,
        tasks=tasks,
        done=done,
        can_edit=can_edit_contribution(current_user, contribution),
        can_submit=can_submit_contribution(current_user, contribution),
        todo=service.still_to_do(contribution, tasks),
        assignments=assignments.for_contribution(contribution),
        can_assign=can(current_user, "contribution.assign", contribution),
        overdue=assignments.is_overdue,
    )


@bp.get("/<int:contribution_id>/check-your-answers")
@roles_required(SIGNED_IN)
def check_answers(contribution_id: int):
    contribution = viewable(contribution_id)
    can_edit = can_edit_contribution(current_user, contribution)
    answers = service.answers(contribution)
    return render_template(
        "contributions/check_answers.html",
        title="Check your answers before submitting" if can_edit else f"{contribution.csp.name}'s contribution",
        contribution=contribution,
        answers=answers,
        missing=service.outstanding(contribution, service.facts_of_answers(contribution, answers)),
        deadline_passed=service.deadline_passed(contribution),
        can_edit=can_edit,
        can_submit=can_submit_contribution(current_user, contribution),
        form=ActionForm(formdata=None),
    )


@bp.post("/<int:contribution_id>/submit")
@roles_required(CSP_MANAGER)
def submit(contribution_id: int):
    contribution, locked = editable(contribution_id)
    if locked:
        return locked
    form = ActionForm()
    if form.validate_on_submit():
        try:
            service.submit(current_user, contribution)
        except ServiceError as exc:
            flash(exc.message, "info")
            return redirect(url_for("contributions.check_answers", contribution_id=contribution.id))
        db.session.commit()
        return redirect(url_for("contributions.submitted", contribution_id=contribution.id))
    return redirect(url_for("contributions.check_answers", contribution_id=contribution.id))


@bp.get("/<int:contribution_id>/submitted")
@roles_required(SIGNED_IN)
def submitted(contribution_id: int):
    contribution = viewable(contribution_id)
    if contribution.submitted_at is None:
        return redirect(url_for("contributions.task_list", contribution_id=contribution.id))
    return render_template("contributions/submitted.html", title="Contribution submitted", contribution=contribution)
