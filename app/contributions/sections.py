"""Narrative sections of a contribution: writing one, reading one, and its history.

- edit_section: CSP users write the section while they may change the contribution. Anyone else
  who can see the contribution (lead bidder users; CSP users once it is submitted or the round is
  closed) is sent to view_section, the read-only page.
- section_history, section_revision, section_diff: every saved revision, one revision, and the
  differences between two revisions, for anyone who can see the contribution.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app import drafts
from app.contributions import bp
from app.contributions.loading import locked_reason, viewable
from app.contributions.section_forms import CompareForm, SectionForm
from app.extensions import db
from app.flashes import flash_saved
from app.forms import as_id
from app.policy import SIGNED_IN, can, can_edit_contribution, roles_required, why_not
from app.services import ServiceError
from app.services import sections as service
from app.text import count_words, diff_texts, normalise


def _load(contribution_id: int, section_id: int):
    contribution = viewable(contribution_id)
    section = service.section_of(contribution, section_id)
    if section is None:
        abort(404)
    return contribution, section


def _edit_page(contribution, section, form, response, *, draft=False, status=200):
    # Text on the page that is not what is saved (kept from an ended session, or sent with a
    # problem) makes the page warn before it is left, even before any typing.
    unsaved = draft or normalise(form.text.data) != (response.text if response else "")
    return render_template(
        "contributions/section_edit.html",
        title=f"{section.number}. {section.title}",
        contribution=contribution,
        section=section,
        form=form,
        response=response,
        revision_count=service.revision_count(response),
        draft=draft,
        unsaved=unsaved,
        text_words=count_words(form.text.data),
    ), status


@bp.route("/<int:contribution_id>/sections/<int:section_id>", methods=["GET", "POST"])
@roles_required(SIGNED_IN)
def edit_section(contribution_id: int, section_id: int):
    if request.method == "POST" and not can(current_user, "contribution.edit"):  # a role that writes
        abort(403)
    contribution, section = _load(contribution_id, section_id)
    can_edit = can_edit_contribution(current_user, contribution)
    if request.method == "GET" and not can_edit:
        # The read-only page says why a CSP user cannot change it (submitted, round closed...).
        return redirect(url_for(".view_section", contribution_id=contribution.id, section_id=section.id))

    response = service.current_response(contribution, section)
    if request.method == "GET":
        # Text kept from an ended session (app/drafts.py) only reads here: it is removed when the
        # section is saved, when the person discards it, or after its days are up.
        kept = drafts.kept_draft()
        if kept is not None:
            form = SectionForm.for_section(section, formdata=kept.formdata())
            drafts.mark_used()
            return _edit_page(contribution, section, form, response, draft=True)
        form = SectionForm.for_section(
            section, data={"text": response.text if response else "", "version": response.version if response else 0}
        )
        return _edit_page(contribution, section, form, response)

    form = SectionForm.for_section(section)
    if not can_edit:
        # Locked since the page was opened (submitted, round closed ...): nothing is saved, and the
        # page comes back with what was typed and why, whatever else the form holds.
        form.add_error(None, why_not(current_user, "contribution.edit", contribution))
        return _edit_page(contribution, section, form, response, status=400)
    if form.validate_on_submit():
        try:
            result = service.save_section(
                current_user,
                contribution,
                section,
                form.text.data or "",
                form.expected_version,
                completed=form.completing,
            )
        except service.SectionConflict as conflict:
            return _conflict_page(contribution, section, conflict, form.text.data or "")
        except ServiceError as exc:
            form.add_error(exc.field, exc.message)
        else:
            db.session.commit()
            _flash_saved(section, result, form)
            return redirect(url_for(".task_list", contribution_id=contribution.id))
    return _edit_page(contribution, section, form, response, status=400)


def _flash_saved(section, result: service.SaveResult, form) -> None:
    name = f"{section.number}. {section.title}"
    if not result.changed:
        flash(f"There were no changes to save in section {name}", "info")
    elif result.revision.completed:
        flash_saved(f"You marked section {name} as completed", form)
    else:
        flash_saved(f"You saved section {name}", form)
        if result.over_limit:
            flash(
                f"Section {section.number} has {result.words:,} words, which is over the limit of "
                f"{result.limit:,}. Shorten it before you mark it as completed",
                "info",
            )


def _conflict_page(contribution, section, conflict: service.SectionConflict, typed: str):
    """Nothing was saved. Show the newer text, and the editor's own text in a form that saves
    against the newer version, so they can combine the two."""
    newer = conflict.response
    form = SectionForm.for_section(section, formdata=None, data={"text": typed, "version": newer.version})
    return render_template(
        "contributions/section_conflict.html",
        title="This section has changed since you opened it",
        contribution=contribution,
        section=section,
        form=form,
        newer=newer,
        newer_words=count_words(newer.text),
        text_words=count_words(typed),
        diff=diff_texts(newer.text, typed),
    ), 409


@bp.get("/<int:contribution_id>/sections/<int:section_id>/view")
@roles_required(SIGNED_IN)
def view_section(contribution_id: int, section_id: int):
    contribution, section = _load(contribution_id, section_id)
    response = service.current_response(contribution, section)
    can_edit = can_edit_contribution(current_user, contribution)
    return render_template(
        "contributions/section_view.html",
        # Not the title of the page that changes the section, which the same people may open.
        title=f"Read section {section.number}. {section.title}",
        contribution=contribution,
        section=section,
        response=response,
        words=count_words(response.text) if response else 0,
        revision_count=service.revision_count(response),
        can_edit=can_edit,
        locked=locked_reason(contribution),
    )


@bp.get("/<int:contribution_id>/sections/<int:section_id>/history")
@roles_required(SIGNED_IN)
def section_history(contribution_id: int, section_id: int):
    contribution, section = _load(contribution_id, section_id)
    response = service.current_response(contribution, section)
    revisions = service.revisions(response, request.args.get("page"))
    asked = "older" in request.args or "newer" in request.args
    form = CompareForm(formdata=request.args if asked else None)
    form.set_revisions(list(range(revisions.total, 0, -1)), chosen=asked)  # revisions are numbered 1 to n
    if asked and form.validate():
        older, newer = sorted((form.older.data, form.newer.data))
        return redirect(
            url_for(".section_diff", contribution_id=contribution.id, section_id=section.id, older=older, newer=newer)
        )
    return render_template(
        "contributions/section_history.html",
        title=f"History of section {section.number}. {section.title}",
        contribution=contribution,
        section=section,
        response=response,
        revisions=revisions,
        form=form,
    ), (400 if form.errors else 200)


@bp.get("/<int:contribution_id>/sections/<int:section_id>/history/<int:number>")
@roles_required(SIGNED_IN)
def section_revision(contribution_id: int, section_id: int, number: int):
    contribution, section = _load(contribution_id, section_id)
    response = service.current_response(contribution, section)
    revision = service.revision(response, number)
    if revision is None:
        abort(404)
    return render_template(
        "contributions/section_revision.html",
        title=f"Revision {revision.number} of section {section.number}. {section.title}",
        contribution=contribution,
        section=section,
        response=response,
        revision=revision,
    )


@bp.get("/<int:contribution_id>/sections/<int:section_id>/compare")
@roles_required(SIGNED_IN)
def section_diff(contribution_id: int, section_id: int):
    contribution, section = _load(contribution_id, section_id)
    response = service.current_response(contribution, section)
    older = service.revision(response, as_id(request.args.get("older")) or 0)
    newer = service.revision(response, as_id(request.args.get("newer")) or 0)
    if older is None or newer is None:
        abort(404)
    if older.number > newer.number:
        older, newer = newer, older
    return render_template(
        "contributions/section_diff.html",
        title=f"Compare revisions {older.number} and {newer.number} of section {section.number}. {section.title}",
        contribution=contribution,
        section=section,
        response=response,
        older=older,
        newer=newer,
        diff=diff_texts(older.text, newer.text),
    )
