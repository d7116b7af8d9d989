"""Supporting documents of a contribution: the list, upload, download, delete, and
"Have you completed this section?". Lead bidder users and CSP users of a locked contribution see
the list and download; only the CSP's own users change it, while it can be edited."""

from __future__ import annotations

import logging

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.contributions import bp
from app.contributions.document_forms import DocumentsCompletedForm, UploadDocumentForm
from app.contributions.loading import editable, locked_reason, viewable
from app.extensions import db
from app.forms import ActionForm
from app.models import Attachment, ScanStatus
from app.policy import CSP_ANY, SIGNED_IN, can_edit_contribution, get_contribution_part_or_404, roles_required
from app.services import ServiceError, scanning
from app.services import contributions as contributions_service
from app.services import documents as service

log = logging.getLogger(__name__)


def _attachment_or_404(contribution, attachment_id: int) -> Attachment:
    """The document only if it belongs to the contribution in the URL (itself already scoped)."""
    return get_contribution_part_or_404(current_user, contribution, Attachment, attachment_id)


def _render(contribution, upload_form=None, completed_form=None):
    can_edit = can_edit_contribution(current_user, contribution)
    if upload_form is None:
        upload_form = UploadDocumentForm(formdata=None)
    if completed_form is None:
        completed_form = DocumentsCompletedForm(
            formdata=None, completed="yes" if contribution.documents_completed else None
        )
    problem_form = completed_form if completed_form.errors else upload_form
    return render_template(
        "contributions/documents.html",
        title="Supporting documents",
        contribution=contribution,
        attachments=contribution.attachments,
        can_edit=can_edit,
        locked_message=locked_reason(contribution),
        form=problem_form,
        upload_form=upload_form,
        completed_form=completed_form,
        max_size=service.human_size(current_app.config["MAX_UPLOAD_BYTES"]),
        human_size=service.human_size,
        type_of=service.type_of,
        scanner_configured=scanning.configured(),
    )


@bp.get("/<int:contribution_id>/documents")
@roles_required(SIGNED_IN)
def documents(contribution_id: int):
    contribution = viewable(contribution_id)
    return _render(contribution)


@bp.route("/<int:contribution_id>/documents/upload", methods=["GET", "POST"])
@roles_required(CSP_ANY)
def upload_document(contribution_id: int):
    contribution, locked = editable(contribution_id)
    if locked:
        return locked
    if request.method == "GET":  # e.g. back here after signing in again: the form is on the list page
        return redirect(url_for("contributions.documents", contribution_id=contribution.id))
    form = UploadDocumentForm()
    if form.validate_on_submit():
        try:
            uploaded = service.upload_document(current_user, contribution, form.file.data, form.description.data)
        except ServiceError as exc:
            form.add_error(exc.field, exc.message)
        else:
            db.session.commit()
            flash(uploaded.message, "success")
            return redirect(url_for("contributions.documents", contribution_id=contribution.id))
    return _render(contribution, upload_form=form), 400


@bp.get("/<int:contribution_id>/documents/<int:attachment_id>/download")
@roles_required(SIGNED_IN)
def download_document(contribution_id: int, attachment_id: int):
    contribution = viewable(contribution_id)
    attachment = _attachment_or_404(contribution, attachment_id)
    if not attachment.scan_status.available:  # being checked for viruses, or failed the check
        return _unavailable(contribution, attachment)
    response = service.download(attachment)
    if response is None:
        log.error("The file of attachment %s (%s) is missing", attachment.id, attachment.stored_name)
        abort(404)
    return response


UNAVAILABLE = {  # scan status -> (page title, HTTP status)
    ScanStatus.PENDING: ("{} is being checked for viruses", 409),
    ScanStatus.FAILED: ("{} could not be checked for viruses", 409),
    ScanStatus.INFECTED: ("{} contained a virus", 410),
}


def _unavailable(contribution, attachment: Attachment):
    title, status = UNAVAILABLE[attachment.scan_status]
    return render_template(
        "contributions/document_unavailable.html",
        title=title.format(attachment.filename),
        contribution=contribution,
        attachment=attachment,
        can_edit=can_edit_contribution(current_user, contribution),
    ), status


@bp.route("/<int:contribution_id>/documents/<int:attachment_id>/delete", methods=["GET", "POST"])
@roles_required(CSP_ANY)
def delete_document(contribution_id: int, attachment_id: int):
    contribution, locked = editable(contribution_id)
    attachment = _attachment_or_404(contribution, attachment_id)
    if locked:
        return locked
    form = ActionForm()
    if form.validate_on_submit():
        filename = attachment.filename
        try:
            service.delete_document(current_user, contribution, attachment)
        except ServiceError as exc:
            flash(exc.message, "info")
        else:
            db.session.commit()
            flash(f"{filename} has been deleted", "success")
        return redirect(url_for("contributions.documents", contribution_id=contribution.id))
    return render_template(
        "contributions/document_delete.html",
        title=f"Delete {attachment.filename}",
        contribution=contribution,
        attachment=attachment,
        form=form,
        human_size=service.human_size,
        type_of=service.type_of,
    )


@bp.post("/<int:contribution_id>/documents/completed")
@roles_required(CSP_ANY)
def documents_completed(contribution_id: int):
    contribution, locked = editable(contribution_id)
    if locked:
        return locked
    form = DocumentsCompletedForm()
    if form.validate_on_submit():
        try:
            contributions_service.set_part_completed(current_user, contribution, "documents", form.is_completed)
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            db.session.commit()
            if form.is_completed:
                flash("Supporting documents marked as completed", "success")
            return redirect(url_for("contributions.task_list", contribution_id=contribution.id))
    return _render(contribution, completed_form=form), 400
