"""Reviewing contributions.

Lead bidder users (LEAD_ANY) see the round overview, each contribution's review page and its
timeline; administrators and staff (the rulebook's contribution.* rules) comment, ask for changes, accept,
exclude and include again. The CSP's own users see the comments and the timeline, and reply.
"""

from __future__ import annotations

from uuid import uuid4

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.extensions import db
from app.flashes import flash_outcomes
from app.forms import as_id
from app.models.base import utcnow
from app.policy import (
    LEAD_ANY,
    SIGNED_IN,
    authorise,
    can,
    get_contribution_or_404,
    get_internal_note_or_404,
    get_round_or_404,
    redirect_unless,
    roles_required,
    rule_required,
)
from app.review import bp
from app.review.forms import (
    CommentForm,
    DecisionForm,
    DeleteInternalNoteForm,
    ExcludeForm,
    InternalNoteForm,
    OverviewFilterForm,
    RequestChangesForm,
    SelectedContributionsForm,
    choices,
)
from app.services import ServiceError, bulk, changes
from app.services import contributions as contributions_service
from app.services import internal_notes as notes_service
from app.services import review as service


@bp.app_context_processor
def review_helpers():
    """For the CSP's pages (task list, section pages), which show the lead bidder's requests and comments."""
    return {
        "review_open_change_request": service.open_change_request,
        "review_comments": service.comments,
        "review_task_titles": service.task_titles,
        "review_can_comment": lambda contribution: service.can_comment(current_user, contribution),
    }


def _lead_contribution(contribution_id: int):
    contribution = get_contribution_or_404(current_user, contribution_id)
    authorise("round.view")  # the review pages are for the lead bidder's roles (the record is scoped above)
    return contribution


def _review_url(contribution) -> str:
    return url_for("review.contribution", contribution_id=contribution.id)


def _refused_or_back(action: str, contribution):
    """An incomplete decision form: back to the review page, saying why the action is refused
    when the contribution's state does not allow it (a complete form hears the service's words)."""
    return redirect_unless(action, contribution, _review_url(contribution)) or _back_to_review(contribution)


def _back_to_review(contribution):
    return redirect(_review_url(contribution))


@bp.get("/rounds/<int:round_id>")
@roles_required(LEAD_ANY)
def overview(round_id: int):
    rnd = get_round_or_404(current_user, round_id)
    return _overview_page(rnd)


def _overview_page(rnd, selection: SelectedContributionsForm | None = None):
    form = OverviewFilterForm(formdata=request.args or None)
    rows = service.overview(rnd)
    shown = service.filter_rows(rows, form.chosen_status, bool(form.at_risk.data))
    if selection is None:  # a new unique value each time the page is shown (see the form)
        selection = SelectedContributionsForm(formdata=None, data={"request_key": uuid4().hex})
    can_accept = can(current_user, "round.accept_contributions", rnd)
    can_remind = can(current_user, "round.remind_contributions", rnd)
    return render_template(
        "review/overview.html",
        title=f"Review contributions: {rnd.title}",
        round=rnd,
        rows=shown,
        note_counts=notes_service.counts(current_user, [r.contribution for r in shown]),
        totals=service.totals(rows),
        filter_form=form,
        filtered=form.chosen_status is not None or form.at_risk.data,
        at_risk_days=service.AT_RISK_DAYS,
        selection=selection,
        chosen=set(selection.ids),
        can_accept_selected=can_accept,
        can_remind_selected=can_remind,
        error_list=selection.error_list,
    ), (400 if selection.errors else 200)


def _overview_url(rnd) -> str:
    return url_for("review.overview", round_id=rnd.id)


def _selection(rnd, action: str):
    """The ticked contributions' form, or the answer to give instead (refused, timed out, none ticked)."""
    refused = redirect_unless(action, rnd, _overview_url(rnd))
    if refused:
        return None, refused
    form = SelectedContributionsForm()
    if not form.validate_on_submit():
        flash("Your request timed out. Try again", "info")
        return None, redirect(_overview_url(rnd))
    if not form.ids:
        form.none_selected()
        return None, _overview_page(rnd, form)
    return form, None


@bp.post("/rounds/<int:round_id>/accept-selected")
@rule_required("round.accept_contributions")
def accept_selected(round_id: int):
    """Accept the ticked contributions: first a page that lists what will happen (which can be
    accepted, which cannot and why), then, confirmed, each one accepted at the version shown."""
    rnd = get_round_or_404(current_user, round_id)
    form, answer = _selection(rnd, "round.accept_contributions")
    if answer is not None:
        return answer
    if not form.confirmed:
        return render_template(
            "review/accept_confirm.html",
            title=f"Accept the selected contributions: {rnd.title}",
            round=rnd,
            preview=bulk.accept_preview(current_user, rnd, form.ids),
            form=SelectedContributionsForm(formdata=None, data={"confirm": "yes"}),
        )
    result = bulk.accept_contributions(current_user, rnd, form.versions(request.form))
    db.session.commit()
    flash_outcomes(result, "{n} accepted (their CSPs' people have been told)", "{n} not accepted")
    return redirect(_overview_url(rnd))


@bp.post("/rounds/<int:round_id>/remind-selected")
@rule_required("round.remind_contributions")
def remind_selected(round_id: int):
    """Send the CSPs of the ticked contributions a reminder now, once per contribution and form."""
    rnd = get_round_or_404(current_user, round_id)
    form, answer = _selection(rnd, "round.remind_contributions")
    if answer is not None:
        return answer
    try:
        result = bulk.remind_contributions(current_user, rnd, form.ids, form.request_key.data)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "info")
        return redirect(_overview_url(rnd))
    db.session.commit()
    flash_outcomes(result, "{n} reminded now", "{n} not reminded")
    return redirect(_overview_url(rnd))


def _comment_form(contribution, **kwargs) -> CommentForm:
    form = CommentForm(**kwargs)
    form.section.choices = choices(service.section_choices(contribution))
    return form


@bp.get("/contributions/<int:contribution_id>")
@roles_required(LEAD_ANY)
def contribution(contribution_id: int):
    contribution = _lead_contribution(contribution_id)
    comments = service.comments(contribution)
    by_section: dict = {}
    for c in comments:
        by_section.setdefault(c.section_id, []).append(c)
    titles = service.task_titles(contribution)
    notes = notes_service.notes(current_user, contribution)
    answers = contributions_service.answers(contribution)
    all_tasks = contributions_service.tasks(contribution, contributions_service.facts_of_answers(contribution, answers))
    latest = changes.latest_change_request(contribution)  # open, or answered by a resubmission
    return render_template(
        "review/contribution.html",
        title=f"Review {contribution.csp.name}'s contribution",
        contribution=contribution,
        answers=answers,
        tasks=all_tasks,
        done=sum(1 for t in all_tasks if t.status == contributions_service.COMPLETED),
        comments_by_section=by_section,
        change_request=latest if latest is not None and latest.resolved_at is None else None,
        latest_change_request=latest,
        can_see_changes=can(current_user, "contribution.see_changes", contribution),
        titles=titles,
        can_act=can(current_user, "contribution.review", contribution),
        can_request_changes=can(current_user, "contribution.request_changes", contribution),
        can_accept=can(current_user, "contribution.accept", contribution),
        can_exclude=can(current_user, "contribution.exclude", contribution),
        can_include=can(current_user, "contribution.include", contribution),
        decision_form=DecisionForm(formdata=None, data={"version": contribution.version}),
        comment_form=_comment_form(contribution, formdata=None, data={"return_to": "review"}),
        notes_by_section=notes_service.by_section(notes),
        can_view_notes=notes_service.can_view(current_user, contribution),
        can_add_note=notes_service.can_add(current_user, contribution),
    )


@bp.get("/contributions/<int:contribution_id>/changes")
@rule_required("contribution.see_changes")
def changes_since_request(contribution_id: int):
    contribution = get_contribution_or_404(current_user, contribution_id)
    authorise("contribution.see_changes", contribution)
    latest = changes.latest_change_request(contribution)
    return render_template(
        "review/changes.html",
        title=f"What changed in {contribution.csp.name}’s contribution",
        contribution=contribution,
        changed=changes.what_changed(contribution, latest, contributions_service.csp_sections(contribution))
        if latest is not None else None,
        titles=service.task_titles(contribution),
    )


@bp.route("/contributions/<int:contribution_id>/comments", methods=["GET", "POST"])
@roles_required(SIGNED_IN)
def comments(contribution_id: int):
    contribution = get_contribution_or_404(current_user, contribution_id)
    can_comment = service.can_comment(current_user, contribution)
    if request.method == "POST" and not can_comment:
        authorise("contribution.comment", contribution)
    form = _comment_form(contribution, formdata=None if request.method == "GET" else request.form)
    if request.method == "GET" and as_id(request.args.get("section")):
        form.section.data = str(as_id(request.args.get("section")))
    if request.method == "POST" and form.validate():
        try:
            comment = service.add_comment(current_user, contribution, form.section_id, form.body.data)
        except ServiceError as exc:
            form.add_error(exc.field, exc.message)
        else:
            db.session.commit()
            flash("Your comment has been added", "success")
            return _after_comment(contribution, comment, form.return_to.data)
    return render_template(
        "review/comments.html",
        title=f"Comments on {contribution.csp.name}'s contribution",
        contribution=contribution,
        comments=service.comments(contribution),
        form=form,
        can_comment=can_comment,
    ), (400 if form.errors else 200)


def _after_comment(contribution, comment, return_to: str | None):
    if return_to == "review" and can(current_user, "round.view"):
        anchor = f"section-{comment.section_id}" if comment.section_id else "comments"
        return redirect(url_for("review.contribution", contribution_id=contribution.id, _anchor=anchor))
    if return_to == "section" and comment.section_id:
        return redirect(
            url_for(
                "contributions.view_section",
                contribution_id=contribution.id,
                section_id=comment.section_id,
                _anchor="comments",
            )
        )
    return redirect(url_for("review.comments", contribution_id=contribution.id))


@bp.route("/contributions/<int:contribution_id>/request-changes", methods=["GET", "POST"])
@rule_required("contribution.request_changes")
def request_changes(contribution_id: int):
    contribution = _lead_contribution(contribution_id)
    refused = redirect_unless("contribution.request_changes", contribution, _review_url(contribution))
    if refused:
        return refused
    titles = service.task_titles(contribution)
    if request.method == "GET":
        form = RequestChangesForm(formdata=None, data={"version": contribution.version})
    else:
        form = RequestChangesForm()
    form.items.choices = choices(titles.items())
    if form.validate_on_submit():
        try:
            service.request_changes(
                current_user, contribution, form.items.data or [], form.message.data, form.expected_version
            )
        except ServiceError as exc:
            form.add_error(exc.field, exc.message)
        else:
            db.session.commit()
            flash(
                f"{contribution.csp.name}'s contribution has been sent back for changes "
                "and their people have been told",
                "success",
            )
            return _back_to_review(contribution)
    return render_template(
        "review/request_changes.html",
        title="Ask for changes",
        contribution=contribution,
        form=form,
        deadline_passed=contributions_service.deadline_passed(contribution, utcnow()),
    ), (400 if form.errors else 200)


@bp.post("/contributions/<int:contribution_id>/accept")
@rule_required("contribution.accept")
def accept(contribution_id: int):
    contribution = _lead_contribution(contribution_id)
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            service.accept(current_user, contribution, form.expected_version)
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "info")
        else:
            db.session.commit()
            flash(
                f"{contribution.csp.name}'s contribution has been accepted and their people have been told",
                "success",
            )
    else:
        return _refused_or_back("contribution.accept", contribution)
    return _back_to_review(contribution)


@bp.route("/contributions/<int:contribution_id>/exclude", methods=["GET", "POST"])
@rule_required("contribution.exclude")
def exclude(contribution_id: int):
    contribution = _lead_contribution(contribution_id)
    refused = redirect_unless("contribution.exclude", contribution, _review_url(contribution))
    if refused:
        return refused
    form = (
        ExcludeForm(formdata=None, data={"version": contribution.version}) if request.method == "GET" else ExcludeForm()
    )
    if form.validate_on_submit():
        try:
            service.exclude(current_user, contribution, form.reason.data, form.expected_version)
        except ServiceError as exc:
            form.add_error(exc.field, exc.message)
        else:
            db.session.commit()
            flash(
                f"{contribution.csp.name}'s contribution has been excluded from the bid "
                "and their people have been told",
                "success",
            )
            return _back_to_review(contribution)
    return render_template(
        "review/exclude.html",
        title=f"Exclude {contribution.csp.name}'s contribution",
        contribution=contribution,
        form=form,
    ), (400 if form.errors else 200)


@bp.post("/contributions/<int:contribution_id>/include")
@rule_required("contribution.include")
def include(contribution_id: int):
    contribution = _lead_contribution(contribution_id)
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            service.include_again(current_user, contribution, form.expected_version)
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "info")
        else:
            db.session.commit()
            flash(
                f"{contribution.csp.name}'s contribution is in the bid again. "
                f"It is {contribution.status.label.lower()}",
                "success",
            )
    else:
        return _refused_or_back("contribution.include", contribution)
    return _back_to_review(contribution)


@bp.get("/contributions/<int:contribution_id>/timeline")
@roles_required(SIGNED_IN)
def timeline(contribution_id: int):
    contribution = get_contribution_or_404(current_user, contribution_id)
    return render_template(
        "review/timeline.html",
        title=f"Activity on {contribution.csp.name}'s contribution",
        contribution=contribution,
        entries=service.timeline(contribution, notes_service.notes(current_user, contribution)),
        is_lead=can(current_user, "round.view"),  # back to the review page, not the task list
    )


# --- internal notes: the lead bidder's own, never shown to the CSP ----------------------------------


def _note_form(contribution, **kwargs) -> InternalNoteForm:
    form = InternalNoteForm(**kwargs)
    form.section.choices = choices(service.section_choices(contribution))
    return form


@bp.route("/contributions/<int:contribution_id>/internal-notes", methods=["GET", "POST"])
@rule_required("contribution.view_internal_notes")
def internal_notes(contribution_id: int):
    contribution = get_contribution_or_404(current_user, contribution_id, "contribution.view_internal_notes")
    if request.method == "POST":
        authorise("contribution.add_internal_note", contribution)
    form = _note_form(contribution, formdata=None if request.method == "GET" else request.form)
    if request.method == "GET" and as_id(request.args.get("section")):
        form.section.data = str(as_id(request.args.get("section")))
    if request.method == "POST" and form.validate():
        try:
            note = notes_service.add_note(current_user, contribution, form.section_id, form.body.data)
        except ServiceError as exc:
            form.add_error(exc.field, exc.message)
        else:
            db.session.commit()
            flash(f"Your internal note has been added. {contribution.csp.name} cannot see it", "success")
            return _after_note(contribution, note.section_id, form.return_to.data)
    return render_template(
        "review/internal_notes.html",
        title=f"Internal notes on {contribution.csp.name}'s contribution",
        contribution=contribution,
        notes=notes_service.notes(current_user, contribution),
        form=form,
        can_add_note=notes_service.can_add(current_user, contribution),
        cannot_add_note=notes_service.why_not_add(current_user, contribution),
    ), (400 if form.errors else 200)


def _after_note(contribution, section_id: int | None, return_to: str | None):
    if return_to == "review":
        anchor = f"section-{section_id}" if section_id else "internal-notes"
        return redirect(url_for("review.contribution", contribution_id=contribution.id, _anchor=anchor))
    return redirect(url_for("review.internal_notes", contribution_id=contribution.id))


@bp.route("/contributions/<int:contribution_id>/internal-notes/<int:note_id>/delete", methods=["GET", "POST"])
@rule_required("internal_note.delete")
def delete_internal_note(contribution_id: int, note_id: int):
    contribution = get_contribution_or_404(current_user, contribution_id, "contribution.view_internal_notes")
    note = get_internal_note_or_404(current_user, contribution, note_id, "internal_note.delete")
    return_to = request.values.get("return_to")
    form = DeleteInternalNoteForm() if request.method == "POST" else DeleteInternalNoteForm(formdata=None)
    if form.validate_on_submit():
        section_id = note.section_id
        try:
            notes_service.delete_note(current_user, note)
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "info")
        else:
            db.session.commit()
            flash("Your internal note has been deleted", "success")
        return _after_note(contribution, section_id, return_to)
    return render_template(
        "review/delete_internal_note.html",
        title="Delete your internal note",
        contribution=contribution,
        note=note,
        form=form,
        return_to="review" if return_to == "review" else "notes",
    ), (400 if form.errors else 200)
