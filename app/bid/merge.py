"""The collective bid's merged sections (lead bidder users).

- overview: every section of the round's template with its merge status and word count, and the
  merge order of the accepted contributions (move_contribution changes it).
- section: one section's workspace: the accepted CSP texts, flags for texts changed since the
  merge (with the changes), and the merged text (save_section, build_draft, remerge,
  mark_reviewed, add_contribution change it).
- section_history: every saved version of a merged text.

Lead bidder users may look; administrators and staff may change, while the bid is a draft.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.bid import bp
from app.bid.merge_forms import DraftForm, MergedTextForm, ReplaceDraftsForm
from app.extensions import db
from app.flashes import flash_list, flash_outcomes, flash_saved
from app.forms import ActionForm
from app.policy import (
    LEAD_ANY,
    LEAD_EDIT,
    can,
    get_round_contribution_or_404,
    get_round_or_404,
    get_section_or_404,
    redirect_unless,
    roles_required,
    why_not,
)
from app.services import ServiceError, assignments, bulk, consolidation
from app.services import merge as service
from app.text import count_words, diff_texts, normalise


def _load(round_id: int):
    rnd = get_round_or_404(current_user, round_id)
    bid = service.bid_of(rnd)
    if bid is None:  # made with the round (GET never writes); none means the round is not ours to show
        abort(404)
    return rnd, bid


def _load_section(round_id: int, section_id: int):
    rnd, bid = _load(round_id)
    return rnd, bid, get_section_or_404(current_user, rnd, section_id)


def _load_contribution(rnd, contribution_id: int):
    return get_round_contribution_or_404(current_user, rnd, contribution_id)


def _workspace_url(rnd, section, anchor=None):
    return url_for("bid.section", round_id=rnd.id, section_id=section.id, _anchor=anchor)


@bp.get("/rounds/<int:round_id>")
@roles_required(LEAD_ANY)
def overview(round_id: int):
    rnd, bid = _load(round_id)
    sections = service.overview(bid)
    return render_template(
        "bid/overview.html",
        title=f"Collective bid: {rnd.title}",
        round=rnd,
        bid=bid,
        sections=sections,
        readiness=consolidation.readiness(rnd, workspaces=sections, bid=bid),
        order=service.accepted(bid),
        can_edit=service.can_edit(current_user, bid),
        read_only=service.read_only_reason(bid),
        action_form=ActionForm(),
        assignments=assignments.for_bid(bid),
        can_assign=can(current_user, "bid.assign", rnd),
        overdue=assignments.is_overdue,
    )


@bp.post("/rounds/<int:round_id>/merge-order/<int:contribution_id>")
@roles_required(LEAD_EDIT)
def move_contribution(round_id: int, contribution_id: int):
    rnd, bid = _load(round_id)
    contribution = _load_contribution(rnd, contribution_id)
    form = ActionForm()
    direction = request.form.get("direction")
    if form.validate_on_submit():
        try:
            service.move_contribution(current_user, bid, contribution, direction)
        except ServiceError as exc:
            flash(exc.message, "info")
        else:
            db.session.commit()
            flash(f"{contribution.csp.name} moved {direction} the merge order", "success")
    else:
        flash("Your request timed out. Try again", "info")
    return redirect(url_for("bid.overview", round_id=rnd.id, _anchor="merge-order"))


def _section_page(rnd, bid, section, form=None, *, status=200, unsaved=False):
    ws = service.workspace(bid, section)
    if form is None:  # the merged text as it is saved
        form = MergedTextForm.for_section(
            section, formdata=None, data={"text": ws.text, "version": ws.merged.version if ws.merged else 0}
        )
    return render_template(
        "bid/section.html",
        title=f"{section.number}. {section.title}",
        round=rnd,
        bid=bid,
        section=section,
        ws=ws,
        form=form,
        draft_form=DraftForm(formdata=None, data={"version": ws.merged.version if ws.merged else 0}),
        action_form=ActionForm(formdata=None),
        can_edit=service.can_edit(current_user, bid),
        read_only=service.read_only_reason(bid),
        can_edit_text=(
            can(current_user, "bid.edit_text", ws.merged) if ws.merged else service.can_edit(current_user, bid)
        ),
        final_reason=why_not(current_user, "bid.edit_text", ws.merged) if ws.merged else None,
        can_mark_final=bool(ws.merged) and can(current_user, "bid.mark_section_final", ws.merged),
        can_mark_draft=bool(ws.merged) and can(current_user, "bid.mark_section_draft", ws.merged),
        text_words=count_words(form.text.data),
        unsaved=unsaved,
        revision_count=service.revision_count(ws.merged),
    ), status


@bp.get("/rounds/<int:round_id>/sections/<int:section_id>")
@roles_required(LEAD_ANY)
def section(round_id: int, section_id: int):
    rnd, bid, section = _load_section(round_id, section_id)
    return _section_page(rnd, bid, section)


@bp.post("/rounds/<int:round_id>/sections/<int:section_id>")
@roles_required(LEAD_EDIT)
def save_section(round_id: int, section_id: int):
    rnd, bid, section = _load_section(round_id, section_id)
    form = MergedTextForm.for_section(section)
    if form.validate_on_submit():
        try:
            revision = service.save_text(current_user, bid, section, form.text.data or "", form.expected_version)
        except service.MergedConflict as conflict:
            return _conflict_page(rnd, bid, section, conflict)
        except ServiceError as exc:
            if exc.field is None:  # the bid cannot be changed now (signed off, submitted)
                flash(exc.message, "info")
                return redirect(_workspace_url(rnd, section))
            form.add_error(exc.field, exc.message)
        else:
            db.session.commit()
            _flash_saved(section, revision, form)
            return redirect(_workspace_url(rnd, section))
    merged = service.merged_section(bid, section)
    unsaved = normalise(form.text.data) != (merged.text if merged else "")
    return _section_page(rnd, bid, section, form, status=400, unsaved=unsaved)


def _flash_saved(section, revision, form) -> None:
    name = f"{section.number}. {section.title}"
    if revision is None:
        flash(f"There were no changes to save in section {name}", "info")
        return
    flash_saved(f"You saved the merged text of section {name}", form)
    limit = section.word_limit
    if limit is not None and revision.word_count > limit:
        flash(
            f"Section {section.number} has {revision.word_count:,} words, which is over the funder's limit of "
            f"{limit:,}. Shorten it before the bid is signed off",
            "info",
        )


def _conflict_page(rnd, bid, section, conflict: service.MergedConflict):
    """Nothing was saved. Both texts are shown; the form saves the editor's text against the newer version."""
    newer = conflict.merged
    form = MergedTextForm.for_section(
        section, formdata=None, data={"text": conflict.their_text, "version": newer.version}
    )
    return render_template(
        "bid/section_conflict.html",
        title="This section has changed since you opened it",
        round=rnd,
        bid=bid,
        section=section,
        form=form,
        newer=newer,
        newer_words=count_words(newer.text),
        text_words=count_words(conflict.their_text),
        diff=diff_texts(newer.text, conflict.their_text),
        unsaved=True,
    ), 409


@bp.post("/rounds/<int:round_id>/sections/<int:section_id>/draft")
@roles_required(LEAD_EDIT)
def build_draft(round_id: int, section_id: int):
    rnd, bid, section = _load_section(round_id, section_id)
    form = DraftForm()
    if not form.validate_on_submit():
        flash("Your request timed out. Try again", "info")
        return redirect(_workspace_url(rnd, section))
    ws = service.workspace(bid, section)
    if ws.parts and ws.edited_since_draft and not form.confirmed and service.can_edit(current_user, bid):
        # Rebuilding would replace the lead's edits: ask first (the old text stays in the history).
        confirm = DraftForm(formdata=None, data={"version": form.version.data, "confirm": "yes"})
        return render_template(
            "bid/draft_confirm.html",
            title=f"Replace the merged text of section {section.number}?",
            round=rnd,
            bid=bid,
            section=section,
            ws=ws,
            form=confirm,
        )
    try:
        service.build_draft(current_user, bid, section, form.expected_version, confirmed=form.confirmed)
    except service.MergedConflict:
        db.session.rollback()
        flash("Someone changed the merged text while you were looking at it. Check it, then build the draft again",
              "info")
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "info")
    else:
        db.session.commit()
        flash(f"The first draft of section {section.number} has been built. Check and edit it below", "success")
        return redirect(_workspace_url(rnd, section, "merged-text"))
    return redirect(_workspace_url(rnd, section))


def _overview_url(rnd) -> str:
    return url_for("bid.overview", round_id=rnd.id, _anchor="sections")


@bp.post("/rounds/<int:round_id>/drafts")
@roles_required(LEAD_EDIT)
def build_all_drafts(round_id: int):
    """Build the first draft of every section nobody has edited; then, if some have been edited,
    ask which of those to replace (none ticked at first)."""
    rnd, bid = _load(round_id)
    refused = redirect_unless("bid.edit", bid, _overview_url(rnd))
    if refused:
        return refused
    if not ActionForm().validate_on_submit():
        flash("Your request timed out. Try again", "info")
        return redirect(_overview_url(rnd))
    try:
        result = bulk.build_all_drafts(current_user, bid)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "info")
        return redirect(_overview_url(rnd))
    db.session.commit()
    flash_outcomes(result, "First drafts built for {n} section{s}", "{n} section{s} not built")
    if result.up_to_date:
        flash_list("Already up to date: nobody has edited these drafts and no CSP text has changed",
                   [bulk.section_name(s) for s in result.up_to_date])
    if not result.edited:
        return redirect(_overview_url(rnd))
    return render_template(
        "bid/drafts_confirm.html",
        title="Replace edited sections with new first drafts?",
        round=rnd,
        bid=bid,
        edited=result.edited,
        form=ReplaceDraftsForm(formdata=None),
    )


@bp.post("/rounds/<int:round_id>/drafts/replace")
@roles_required(LEAD_EDIT)
def replace_drafts(round_id: int):
    """Replace the edited sections the lead ticked, each only if nobody changed it since the
    confirmation page was shown."""
    rnd, bid = _load(round_id)
    refused = redirect_unless("bid.edit", bid, _overview_url(rnd))
    if refused:
        return refused
    form = ReplaceDraftsForm()
    if not form.validate_on_submit():
        flash("Your request timed out. Try again", "info")
        return redirect(_overview_url(rnd))
    result = bulk.replace_drafts(current_user, bid, form.versions(request.form, rnd.sections), form.ids)
    db.session.commit()
    flash_outcomes(result, "{n} edited section{s} replaced with a new first draft",
                   "{n} edited section{s} not replaced")
    return redirect(_overview_url(rnd))


def _source_action(round_id: int, section_id: int, contribution_id: int, action, done: str):
    rnd, bid, section = _load_section(round_id, section_id)
    contribution = _load_contribution(rnd, contribution_id)
    form = ActionForm()
    if not form.validate_on_submit():
        flash("Your request timed out. Try again", "info")
        return redirect(_workspace_url(rnd, section))
    try:
        action(current_user, bid, section, contribution)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "info")
        return redirect(_workspace_url(rnd, section, f"source-{contribution.id}"))
    db.session.commit()
    flash(done.format(csp=contribution.csp.name), "success")
    return redirect(_workspace_url(rnd, section, "merged-text"))


@bp.post("/rounds/<int:round_id>/sections/<int:section_id>/sources/<int:contribution_id>/re-merge")
@roles_required(LEAD_EDIT)
def remerge(round_id: int, section_id: int, contribution_id: int):
    return _source_action(round_id, section_id, contribution_id, service.remerge,
                          "{csp}'s new text has replaced its part of the merged text")


@bp.post("/rounds/<int:round_id>/sections/<int:section_id>/sources/<int:contribution_id>/reviewed")
@roles_required(LEAD_EDIT)
def mark_reviewed(round_id: int, section_id: int, contribution_id: int):
    return _source_action(round_id, section_id, contribution_id, service.mark_reviewed,
                          "You marked {csp}'s changes as reviewed")


@bp.post("/rounds/<int:round_id>/sections/<int:section_id>/sources/<int:contribution_id>/add")
@roles_required(LEAD_EDIT)
def add_contribution(round_id: int, section_id: int, contribution_id: int):
    return _source_action(round_id, section_id, contribution_id, service.add_source,
                          "{csp}'s text has been added to the end of the merged text")


@bp.post("/rounds/<int:round_id>/sections/<int:section_id>/state")
@roles_required(LEAD_EDIT)
def section_state(round_id: int, section_id: int):
    """Mark the merged section as final (readiness needs every required section final), or as a
    draft again to change it."""
    rnd, bid, section = _load_section(round_id, section_id)
    form = ActionForm()
    final = request.form.get("state") == "final"
    if not form.validate_on_submit() or request.form.get("state") not in ("final", "draft"):
        flash("Your request timed out. Try again", "info")
        return redirect(_workspace_url(rnd, section))
    try:
        service.set_section_state(current_user, bid, section, final)
    except ServiceError as exc:
        db.session.rollback()
        if getattr(exc, "status", 403) == 404:
            abort(404)
        flash(exc.message, "info")
        return redirect(_workspace_url(rnd, section, "section-state"))
    db.session.commit()
    flash(f"Section {section.number}, {section.title}, is {'final' if final else 'a draft again'}", "success")
    return redirect(_workspace_url(rnd, section, "section-state"))


@bp.get("/rounds/<int:round_id>/sections/<int:section_id>/history")
@roles_required(LEAD_ANY)
def section_history(round_id: int, section_id: int):
    rnd, bid, section = _load_section(round_id, section_id)
    merged = service.merged_section(bid, section)
    return render_template(
        "bid/section_history.html",
        title=f"History of section {section.number}. {section.title} of the collective bid",
        round=rnd,
        bid=bid,
        section=section,
        revisions=service.revisions(merged, request.args.get("page")),
    )
