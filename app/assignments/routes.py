"""Giving items to people (CSP managers: their contribution's items; lead bidder administrators
and staff: the bid's merged sections), taking them back, and "Your tasks"."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.assignments import bp
from app.assignments.forms import AssignForm
from app.extensions import db
from app.forms import ActionForm
from app.policy import (
    get_contribution_or_404,
    get_round_or_404,
    get_section_or_404,
    redirect_unless,
    rule_required,
)
from app.services import ServiceError, merge
from app.services import assignments as service

# --- a CSP's items ---------------------------------------------------------------------------------


def _load_item(contribution_id: int, item: str):
    contribution = get_contribution_or_404(current_user, contribution_id)
    title = service.item_titles(contribution).get(item)
    if title is None:
        abort(404)
    back = url_for("contributions.task_list", contribution_id=contribution.id, _anchor="who-does-what")
    return contribution, title, back


@bp.route("/contributions/<int:contribution_id>/assign/<item>", methods=["GET", "POST"])
@rule_required("contribution.assign")
def contribution_item(contribution_id: int, item: str):
    contribution, title, back = _load_item(contribution_id, item)
    if refused := redirect_unless("contribution.assign", contribution, back):
        return refused
    current = service.for_item(contribution, item)
    form = AssignForm.for_people(service.csp_colleagues(contribution), current)
    if form.validate_on_submit():
        try:
            assignment = service.assign_item(current_user, contribution, item, form.chosen(), form.due_date.data)
        except ServiceError as exc:
            form.add_error(exc.field, exc.message)
        else:
            db.session.commit()
            flash(f"{title} is now given to {assignment.assignee.full_name}", "success")
            return redirect(back)
    return render_template(
        "assignments/assign.html",
        title=f"Who should do {title}?",
        heading=title,
        caption=f"{contribution.csp.name}'s contribution",
        contribution=contribution,
        round=contribution.round,
        form=form,
        current=current,
        latest=service.last_day(contribution.deadline),
        deadline_words="your CSP's deadline",
        people_hint=f"Someone at {contribution.csp.name}. They see it in their tasks.",
        back=back,
        remove_url=url_for("assignments.unassign_contribution_item", contribution_id=contribution.id, item=item),
    ), (400 if request.method == "POST" else 200)


@bp.post("/contributions/<int:contribution_id>/assign/<item>/remove")
@rule_required("contribution.assign")
def unassign_contribution_item(contribution_id: int, item: str):
    contribution, title, back = _load_item(contribution_id, item)
    if refused := redirect_unless("contribution.assign", contribution, back):
        return refused
    return _take_back(lambda: service.unassign_item(current_user, contribution, item), title, back)


# --- the collective bid's merged sections ----------------------------------------------------------


def _load_section(round_id: int, section_id: int):
    rnd = get_round_or_404(current_user, round_id)
    bid = merge.bid_of(rnd)
    if bid is None:
        abort(404)
    section = get_section_or_404(current_user, rnd, section_id)
    back = url_for("bid.overview", round_id=rnd.id, _anchor="sections")
    return rnd, bid, section, back


@bp.route("/bid/rounds/<int:round_id>/sections/<int:section_id>/assign", methods=["GET", "POST"])
@rule_required("bid.assign")
def bid_section(round_id: int, section_id: int):
    rnd, bid, section, back = _load_section(round_id, section_id)
    if refused := redirect_unless("bid.assign", rnd, back):
        return refused
    current = service.for_section(bid, section)
    if current is not None and (refused := redirect_unless("bid.assign", current.merged_section, back)):
        return refused
    form = AssignForm.for_people(service.lead_colleagues(rnd), current)
    title = f"{section.number}. {section.title}"
    if form.validate_on_submit():
        try:
            assignment = service.assign_section(current_user, bid, section, form.chosen(), form.due_date.data)
        except ServiceError as exc:
            form.add_error(exc.field, exc.message)
        else:
            db.session.commit()
            flash(f"Section {title} is now given to {assignment.assignee.full_name}", "success")
            return redirect(back)
    return render_template(
        "assignments/assign.html",
        title=f"Who should write section {title} of the collective bid?",
        heading=f"Section {title}",
        caption=f"Collective bid: {rnd.title}",
        round=rnd,
        form=form,
        current=current,
        latest=service.last_day(rnd.funder_deadline),
        deadline_words="the funder's deadline",
        people_hint=f"An administrator or member of staff at {rnd.lead_bidder.display_name}. "
        "They see it in their tasks.",
        back=back,
        remove_url=url_for("assignments.unassign_bid_section", round_id=rnd.id, section_id=section.id),
    ), (400 if request.method == "POST" else 200)


@bp.post("/bid/rounds/<int:round_id>/sections/<int:section_id>/assign/remove")
@rule_required("bid.assign")
def unassign_bid_section(round_id: int, section_id: int):
    rnd, bid, section, back = _load_section(round_id, section_id)
    if refused := redirect_unless("bid.assign", rnd, back):
        return refused
    return _take_back(lambda: service.unassign_section(current_user, bid, section),
                      f"Section {section.number}. {section.title}", back)


def _take_back(unassign, title: str, back: str):
    """The POST of "Take it back": the form's token checked, the service called, one commit."""
    if not ActionForm().validate_on_submit():
        flash("Your request timed out. Try again", "info")
        return redirect(back)
    try:
        unassign()
    except ServiceError as exc:
        flash(exc.message, "info")
        return redirect(back)
    db.session.commit()
    flash(f"{title} is no longer given to anyone", "success")
    return redirect(back)


# --- your tasks --------------------------------------------------------------------------------------


@bp.get("/tasks")
@rule_required("tasks.view")
def tasks():
    return render_template(
        "assignments/tasks.html",
        title="Your tasks",
        rows=service.tasks_for(current_user, request.args.get("page")),
    )
