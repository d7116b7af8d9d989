"""The collective bid (lead bidder): consolidated budget with lead-held lines, outcomes, partners,
the readiness checklist, sign-off, submission to the funder and reopening.

Everyone at the lead bidder sees these pages; administrators and staff change lead-held lines;
only administrators sign off, mark as submitted and reopen. CSP users get 403.

Lead-held lines' change and delete pages carry the version they were loaded with: when someone
else changed the line meanwhile, nothing is saved and the page is shown again (409) with their
version and what this user typed (app/services/budget.py, ItemConflict)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.bid import bp
from app.bid.consolidation_forms import BudgetLineForm, DeleteItemForm, ReopenForm, SignOffForm, SubmittedForm
from app.extensions import db
from app.policy import (
    LEAD_ADMIN,
    LEAD_ANY,
    LEAD_EDIT,
    can,
    get_round_or_404,
    redirect_unless,
    roles_required,
    rule_required,
)
from app.services import ServiceError, signoff
from app.services import consolidation as service
from app.services.budget import ItemConflict


def _show_problems(form, exc: ServiceError) -> None:
    for field, message in getattr(exc, "problems", [(exc.field, exc.message)]):
        form.add_error(field, message)


def _status(form) -> int:
    return 400 if form.errors else 200


def _budget_url(rnd) -> str:
    return url_for("bid.consolidation_budget", round_id=rnd.id)


def _editable_bid(round_id: int):
    """(round, bid, None) when lead-held lines may change, else (round, bid, redirect)."""
    rnd = get_round_or_404(current_user, round_id)
    bid = service.find_bid(rnd)
    return rnd, bid, redirect_unless("bid.edit", rnd, _budget_url(rnd))


def _lead_line_or_404(bid, line_id: int):
    line = service.get_lead_line(bid, line_id) if bid is not None else None
    if line is None:
        abort(404)
    return line


# --- consolidated budget ----------------------------------------------------------------------

@bp.route("/rounds/<int:round_id>/budget")
@roles_required(LEAD_ANY)
def consolidation_budget(round_id: int):
    rnd = get_round_or_404(current_user, round_id)
    budget = service.consolidated_budget(rnd)
    return render_template(
        "bid/consolidation_budget.html",
        title="Consolidated budget",
        rnd=rnd,
        budget=budget,
        bid=budget.bid,
        can_edit=can(current_user, "bid.edit", rnd),
    )


@bp.route("/rounds/<int:round_id>/budget/lines/new", methods=["GET", "POST"])
@roles_required(LEAD_EDIT)
def consolidation_add_line(round_id: int):
    rnd, bid, locked = _editable_bid(round_id)
    if locked:
        return locked
    form = BudgetLineForm(rnd).without_version()
    if form.validate_on_submit():
        try:
            line = service.add_lead_line(current_user, service.get_or_create_bid(rnd), **form.values())
        except ServiceError as exc:
            _show_problems(form, exc)
        else:
            db.session.commit()
            flash(f"Lead-held budget line added: {line.description}", "success")
            return redirect(_budget_url(rnd))
    return render_template(
        "bid/consolidation_line_form.html", title="Add a lead-held budget line", rnd=rnd, form=form
    ), _status(form)


@bp.route("/rounds/<int:round_id>/budget/lines/<int:line_id>", methods=["GET", "POST"])
@roles_required(LEAD_EDIT)
def consolidation_edit_line(round_id: int, line_id: int):
    rnd, bid, locked = _editable_bid(round_id)
    line = _lead_line_or_404(bid, line_id)
    if locked:
        return locked
    form = BudgetLineForm(rnd)
    conflict = None
    if request.method == "GET":
        form.fill_from(line)
        form.load_version(line)
    if form.validate_on_submit():
        try:
            changed = service.change_lead_line(
                current_user, line, expected_version=form.expected_version, **form.values()
            )
        except ItemConflict as exc:
            conflict = exc.item
            form.show_conflict(exc)
        except ServiceError as exc:
            _show_problems(form, exc)
        else:
            db.session.commit()
            if changed:
                flash(f"Lead-held budget line changed: {line.description}", "success")
            return redirect(_budget_url(rnd))
    return render_template(
        "bid/consolidation_line_form.html",
        title="Change a lead-held budget line",
        rnd=rnd,
        form=form,
        line=line,
        conflict=conflict,
    ), 409 if conflict else _status(form)


@bp.route("/rounds/<int:round_id>/budget/lines/<int:line_id>/delete", methods=["GET", "POST"])
@roles_required(LEAD_EDIT)
def consolidation_delete_line(round_id: int, line_id: int):
    rnd, bid, locked = _editable_bid(round_id)
    line = _lead_line_or_404(bid, line_id)
    if locked:
        return locked
    form = DeleteItemForm(item_noun="budget line")
    status = None
    if request.method == "GET":
        form.load_version(line)
    if form.validate_on_submit():
        description = line.description
        try:
            service.delete_lead_line(current_user, line, form.expected_version)
        except ItemConflict as conflict:
            form.show_conflict(conflict)  # the page shows the line as it is now
            status = 409
        except ServiceError as exc:
            flash(exc.message, "info")
            return redirect(_budget_url(rnd))
        else:
            db.session.commit()
            flash(f"Lead-held budget line deleted: {description}", "success")
            return redirect(_budget_url(rnd))
    return render_template(
        "bid/consolidation_line_delete.html",
        title="Are you sure you want to delete this budget line?",
        rnd=rnd,
        line=line,
        form=form,
    ), status or _status(form)


# --- outcomes and partners --------------------------------------------------------------------

@bp.route("/rounds/<int:round_id>/outcomes")
@roles_required(LEAD_ANY)
def consolidation_outcomes(round_id: int):
    rnd = get_round_or_404(current_user, round_id)
    return render_template(
        "bid/consolidation_outcomes.html",
        title="Consolidated outcomes",
        rnd=rnd,
        outcomes=service.consolidated_outcomes(rnd),
        waiting=service.waiting_contributions(rnd),
    )


@bp.route("/rounds/<int:round_id>/partners")
@roles_required(LEAD_ANY)
def consolidation_partners(round_id: int):
    rnd = get_round_or_404(current_user, round_id)
    return render_template(
        "bid/consolidation_partners.html",
        title="Partners",
        rnd=rnd,
        partners=service.consolidated_partners(rnd),
        waiting=service.waiting_contributions(rnd),
    )


# --- the whole bid on one page, to read and print ---------------------------------------------

@bp.route("/rounds/<int:round_id>/whole")
@rule_required("bid.view_whole")
def whole_bid(round_id: int):
    rnd = get_round_or_404(current_user, round_id, "bid.view_whole")
    return render_template(
        "bid/whole.html",
        title="The whole bid",
        rnd=rnd,
        whole=service.whole_bid(rnd),
    )


# --- readiness, sign-off, submission, reopening -----------------------------------------------

@bp.route("/rounds/<int:round_id>/readiness")
@roles_required(LEAD_ANY)
def consolidation_readiness(round_id: int):
    rnd = get_round_or_404(current_user, round_id)
    bid = service.find_bid(rnd)
    return render_template(
        "bid/consolidation_readiness.html",
        title="Readiness and sign-off",
        rnd=rnd,
        bid=bid,
        readiness=service.readiness(rnd, bid=bid),
        can_sign_off=can(current_user, "bid.sign_off", rnd),
        can_submit=can(current_user, "bid.mark_submitted", rnd),
        can_reopen=can(current_user, "bid.reopen", rnd),
        can_record_outcome=can(current_user, "round.record_outcome", rnd),
    )


@bp.route("/rounds/<int:round_id>/sign-off", methods=["GET", "POST"])
@roles_required(LEAD_ADMIN)
def consolidation_sign_off(round_id: int):
    rnd = get_round_or_404(current_user, round_id)
    bid = service.find_bid(rnd)
    refused = redirect_unless("bid.sign_off", rnd, url_for("bid.consolidation_readiness", round_id=rnd.id))
    if refused:
        return refused
    readiness = service.readiness(rnd)
    form = SignOffForm()
    if request.method == "GET":
        form.declaration.data = signoff.DEFAULT_DECLARATION
    if form.validate_on_submit():
        try:
            signoff.sign_off(current_user, bid, form.declaration.data)
        except ServiceError as exc:
            _show_problems(form, exc)
        else:
            db.session.commit()
            flash("The bid has been signed off", "success")
            return redirect(url_for("bid.consolidation_readiness", round_id=rnd.id))
    return render_template(
        "bid/consolidation_sign_off.html", title="Sign off the bid", rnd=rnd, form=form, readiness=readiness
    ), _status(form)


@bp.route("/rounds/<int:round_id>/submitted", methods=["GET", "POST"])
@roles_required(LEAD_ADMIN)
def consolidation_submitted(round_id: int):
    rnd = get_round_or_404(current_user, round_id)
    bid = service.find_bid(rnd)
    refused = redirect_unless("bid.mark_submitted", rnd, url_for("bid.consolidation_readiness", round_id=rnd.id))
    if refused:
        return refused
    form = SubmittedForm()
    if form.validate_on_submit():
        try:
            signoff.mark_submitted(current_user, bid, form.submitted_at_utc, form.funder_reference.data)
        except ServiceError as exc:
            _show_problems(form, exc)
        else:
            db.session.commit()
            flash(f"The bid has been marked as submitted to {rnd.funder}", "success")
            return redirect(url_for("bid.consolidation_readiness", round_id=rnd.id))
    return render_template(
        "bid/consolidation_submitted.html", title="Mark the bid as submitted", rnd=rnd, bid=bid, form=form
    ), _status(form)


@bp.route("/rounds/<int:round_id>/reopen", methods=["GET", "POST"])
@roles_required(LEAD_ADMIN)
def consolidation_reopen(round_id: int):
    rnd = get_round_or_404(current_user, round_id)
    bid = service.find_bid(rnd)
    refused = redirect_unless("bid.reopen", rnd, url_for("bid.consolidation_readiness", round_id=rnd.id))
    if refused:
        return refused
    form = ReopenForm()
    if form.validate_on_submit():
        try:
            signoff.reopen(current_user, bid, form.reason.data)
        except ServiceError as exc:
            _show_problems(form, exc)
        else:
            db.session.commit()
            flash("The bid has been reopened. It is a draft again", "success")
            return redirect(url_for("bid.consolidation_readiness", round_id=rnd.id))
    return render_template(
        "bid/consolidation_reopen.html", title="Reopen the bid", rnd=rnd, bid=bid, form=form
    ), _status(form)
