"""Budget lines, outcomes and partners of a contribution.

Each part has a page that lists what is there (read-only for lead bidder users and for a locked
contribution), add / change / delete pages for the CSP's users, and a "Have you completed this
section?" question at the foot of the list page, which posts to the list page itself.

Change and delete pages carry the version of the item they were loaded with. When someone else
changed it meanwhile the service raises ItemConflict: nothing is saved, and the page is shown again
(409) with their version and what this user typed, ready to save (or delete) again on purpose.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.contributions import bp
from app.contributions.budget_forms import BudgetLineForm, CompletedForm, DeleteItemForm, OutcomeForm, PartnerForm
from app.contributions.loading import editable, locked_reason, viewable
from app.extensions import db
from app.forms import as_id
from app.models import BudgetLine, Contribution, Outcome, PartnerInvolvement
from app.policy import CSP_ANY, SIGNED_IN, can_edit_contribution, get_contribution_part_or_404, roles_required
from app.services import ServiceError
from app.services import budget as service


def _owned_or_404(model, object_id: int, contribution: Contribution):
    """An object of this contribution: an id from another contribution is answered with 404."""
    return get_contribution_part_or_404(current_user, contribution, model, object_id)


def _show_problems(form, exc: ServiceError) -> None:
    for field, message in getattr(exc, "problems", [(exc.field, exc.message)]):
        form.add_error(field, message)


def _status(form) -> int:
    return 400 if form.errors else 200


def _edit_item(contribution, item, form, *, change, done, back: str, template: str, title: str, **context):
    """The change page of a budget line, outcome or partner: saved only if nobody changed the item
    since the form was loaded; otherwise their version is shown beside what was typed (409)."""
    conflict = None
    if request.method == "GET":
        form.load_version(item)
    if form.validate_on_submit():
        try:
            changed = change(current_user, item, expected_version=form.expected_version, **form.values())
        except service.ItemConflict as exc:
            conflict = exc.item
            form.show_conflict(exc)
        except ServiceError as exc:
            _show_problems(form, exc)
        else:
            db.session.commit()
            if changed:
                flash(done(), "success")
            return redirect(url_for(back, contribution_id=contribution.id))
    return render_template(
        template, title=title, contribution=contribution, form=form, conflict=conflict, **context
    ), 409 if conflict else _status(form)


def _confirm_delete(
    contribution_id: int, model, item_id: int, *, delete, noun: str, back: str, template: str, title, done
):
    """A delete confirmation page (GET) and the delete itself (POST), for any item of a contribution.

    `title(item)` and `done(item)` give the page's heading and the success message. A delete of an
    item changed since the page was loaded is refused: the page shows it as it is now (409)."""
    contribution, locked = editable(contribution_id)
    if locked:
        return locked
    item = _owned_or_404(model, item_id, contribution)
    form = DeleteItemForm(item_noun=noun)
    status = None
    if request.method == "GET":
        form.load_version(item)
    if form.validate_on_submit():
        try:
            delete(current_user, item, form.expected_version)
        except service.ItemConflict as conflict:
            form.show_conflict(conflict)
            status = 409
        except ServiceError as exc:
            flash(exc.message, "info")
            return redirect(url_for(back, contribution_id=contribution.id))
        else:
            db.session.commit()
            flash(done(item), "success")
            return redirect(url_for(back, contribution_id=contribution.id))
    return render_template(
        template, title=title(item), contribution=contribution, item=item, form=form
    ), status or _status(form)


def _part_page(contribution_id: int, part: str, mark, template: str, title: str, **context):
    """The list page of a part (GET), and its "Have you completed this section?" answer (POST)."""
    contribution = viewable(contribution_id)
    form = CompletedForm()
    if request.method == "POST":
        contribution, locked = editable(contribution_id)
        if locked:
            return locked
        if form.validate_on_submit():
            try:
                mark(current_user, contribution, form.is_completed)
            except ServiceError as exc:
                _show_problems(form, exc)
            else:
                db.session.commit()
                flash(
                    f"{title} marked as completed" if form.is_completed else f"{title} marked as in progress",
                    "success",
                )
                return redirect(url_for("contributions.task_list", contribution_id=contribution.id))
    elif getattr(contribution, f"{part}_completed"):
        form.completed.data = "yes"
    can_edit = can_edit_contribution(current_user, contribution)
    return render_template(
        template,
        title=title,
        contribution=contribution,
        form=form,
        can_edit=can_edit,
        completed=getattr(contribution, f"{part}_completed"),
        locked_message=locked_reason(contribution),
        **context,
    ), _status(form)


# --- budget lines -----------------------------------------------------------------------------


@bp.route("/<int:contribution_id>/budget", methods=["GET", "POST"])
@roles_required(SIGNED_IN)
def budget(contribution_id: int):
    contribution = viewable(contribution_id)
    return _part_page(
        contribution_id,
        "budget",
        service.mark_budget_completed,
        "contributions/budget.html",
        "Budget",
        summary=service.budget_summary(contribution),
    )


@bp.route("/<int:contribution_id>/budget/lines/new", methods=["GET", "POST"])
@roles_required(CSP_ANY)
def add_budget_line(contribution_id: int):
    contribution, locked = editable(contribution_id)
    if locked:
        return locked
    form = BudgetLineForm(contribution.round).without_version()
    if request.method == "GET" and as_id(request.args.get("financial_year")):
        # "Save and add another" keeps the year of the line just added.
        form.financial_year.data = as_id(request.args.get("financial_year"))
    if form.validate_on_submit():
        try:
            line = service.add_line(current_user, contribution, **form.values())
        except ServiceError as exc:
            _show_problems(form, exc)
        else:
            db.session.commit()
            flash(f"Budget line added: {line.description}", "success")
            if request.form.get("add_another"):
                return redirect(
                    url_for(
                        "contributions.add_budget_line",
                        contribution_id=contribution.id,
                        financial_year=line.financial_year_id,
                    )
                )
            return redirect(url_for("contributions.budget", contribution_id=contribution.id))
    return render_template(
        "contributions/budget_line_form.html",
        title="Add a budget line",
        contribution=contribution,
        form=form,
        adding=True,
    ), _status(form)


@bp.route("/<int:contribution_id>/budget/lines/<int:line_id>", methods=["GET", "POST"])
@roles_required(CSP_ANY)
def edit_budget_line(contribution_id: int, line_id: int):
    contribution, locked = editable(contribution_id)
    if locked:
        return locked
    line = _owned_or_404(BudgetLine, line_id, contribution)
    form = BudgetLineForm(contribution.round)
    if request.method == "GET":
        form.fill_from(line)
    return _edit_item(
        contribution, line, form,
        change=service.change_line,
        done=lambda: f"Budget line changed: {line.description}",
        back="contributions.budget",
        template="contributions/budget_line_form.html",
        title="Change a budget line",
        line=line,
        adding=False,
    )


@bp.route("/<int:contribution_id>/budget/lines/<int:line_id>/delete", methods=["GET", "POST"])
@roles_required(CSP_ANY)
def delete_budget_line(contribution_id: int, line_id: int):
    return _confirm_delete(
        contribution_id,
        BudgetLine,
        line_id,
        delete=service.delete_line,
        noun="budget line",
        back="contributions.budget",
        template="contributions/budget_line_delete.html",
        title=lambda line: "Are you sure you want to delete this budget line?",
        done=lambda line: f"Budget line deleted: {line.description}",
    )


# --- outcomes ---------------------------------------------------------------------------------


@bp.route("/<int:contribution_id>/outcomes", methods=["GET", "POST"])
@roles_required(SIGNED_IN)
def outcomes(contribution_id: int):
    return _part_page(
        contribution_id, "outcomes", service.mark_outcomes_completed, "contributions/outcomes.html", "Outcomes"
    )


@bp.route("/<int:contribution_id>/outcomes/new", methods=["GET", "POST"])
@roles_required(CSP_ANY)
def add_outcome(contribution_id: int):
    contribution, locked = editable(contribution_id)
    if locked:
        return locked
    form = OutcomeForm().without_version()
    if form.validate_on_submit():
        try:
            outcome = service.add_outcome(current_user, contribution, **form.values())
        except ServiceError as exc:
            _show_problems(form, exc)
        else:
            db.session.commit()
            flash(f"Outcome added: {outcome.measure}", "success")
            return redirect(url_for("contributions.outcomes", contribution_id=contribution.id))
    return render_template(
        "contributions/outcome_form.html", title="Add an outcome", contribution=contribution, form=form
    ), _status(form)


@bp.route("/<int:contribution_id>/outcomes/<int:outcome_id>", methods=["GET", "POST"])
@roles_required(CSP_ANY)
def edit_outcome(contribution_id: int, outcome_id: int):
    contribution, locked = editable(contribution_id)
    if locked:
        return locked
    outcome = _owned_or_404(Outcome, outcome_id, contribution)
    form = OutcomeForm(obj=outcome) if request.method == "GET" else OutcomeForm()
    return _edit_item(
        contribution, outcome, form,
        change=service.change_outcome,
        done=lambda: f"Outcome changed: {outcome.measure}",
        back="contributions.outcomes",
        template="contributions/outcome_form.html",
        title="Change an outcome",
        outcome=outcome,
    )


@bp.route("/<int:contribution_id>/outcomes/<int:outcome_id>/delete", methods=["GET", "POST"])
@roles_required(CSP_ANY)
def delete_outcome(contribution_id: int, outcome_id: int):
    return _confirm_delete(
        contribution_id,
        Outcome,
        outcome_id,
        delete=service.delete_outcome,
        noun="outcome",
        back="contributions.outcomes",
        template="contributions/outcome_delete.html",
        title=lambda outcome: "Are you sure you want to delete this outcome?",
        done=lambda outcome: f"Outcome deleted: {outcome.measure}",
    )


# --- partners ---------------------------------------------------------------------------------


@bp.route("/<int:contribution_id>/partners", methods=["GET", "POST"])
@roles_required(SIGNED_IN)
def partners(contribution_id: int):
    return _part_page(
        contribution_id,
        "partners",
        service.mark_partners_completed,
        "contributions/partners.html",
        "Partners involved",
    )


@bp.route("/<int:contribution_id>/partners/new", methods=["GET", "POST"])
@roles_required(CSP_ANY)
def add_partner(contribution_id: int):
    contribution, locked = editable(contribution_id)
    if locked:
        return locked
    form = PartnerForm(contribution).without_version()
    if form.validate_on_submit():
        try:
            partner = service.add_partner(current_user, contribution, **form.values())
        except ServiceError as exc:
            _show_problems(form, exc)
        else:
            db.session.commit()
            flash(f"Partner added: {partner.organisation_name}", "success")
            return redirect(url_for("contributions.partners", contribution_id=contribution.id))
    return render_template(
        "contributions/partner_form.html", title="Add a partner", contribution=contribution, form=form
    ), _status(form)


@bp.route("/<int:contribution_id>/partners/<int:partner_id>", methods=["GET", "POST"])
@roles_required(CSP_ANY)
def edit_partner(contribution_id: int, partner_id: int):
    contribution, locked = editable(contribution_id)
    if locked:
        return locked
    partner = _owned_or_404(PartnerInvolvement, partner_id, contribution)
    if request.method == "GET":
        form = PartnerForm(contribution, partner.id, obj=partner)
    else:
        form = PartnerForm(contribution, partner.id)
    return _edit_item(
        contribution, partner, form,
        change=service.change_partner,
        done=lambda: f"Partner changed: {partner.organisation_name}",
        back="contributions.partners",
        template="contributions/partner_form.html",
        title="Change a partner",
        partner=partner,
    )


@bp.route("/<int:contribution_id>/partners/<int:partner_id>/delete", methods=["GET", "POST"])
@roles_required(CSP_ANY)
def delete_partner(contribution_id: int, partner_id: int):
    return _confirm_delete(
        contribution_id,
        PartnerInvolvement,
        partner_id,
        delete=service.delete_partner,
        noun="partner",
        back="contributions.partners",
        template="contributions/partner_delete.html",
        title=lambda partner: f"Are you sure you want to remove {partner.organisation_name}?",
        done=lambda partner: f"Partner removed: {partner.organisation_name}",
    )
