"""Importing a CSP's Word draft into the contribution's sections, and the Word template to draft in.

- draft_template (GET): a .docx of the sections the CSP writes, made on the fly.
- import_draft (GET: the upload page; POST: the upload, answered with the preview, writing nothing).
- confirm_import (POST): the sections ticked on the preview, each saved as a new revision against
  the version the preview showed; all or nothing (409 with the newer texts when one has changed).

The preview carries each found section's text and version in hidden fields (the texts are the
CSP's own, and the save path checks them again), so nothing is kept on the server in between.
"""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import GovFileInput, GovSubmitInput
from wtforms import HiddenField, SelectMultipleField, SubmitField

from app.contributions import bp
from app.contributions.document_forms import FileChosen
from app.contributions.loading import viewable
from app.extensions import db
from app.flashes import flash_list
from app.forms import BaseForm, as_id
from app.policy import redirect_unless, rule_required
from app.services import ServiceError, office
from app.services.documents import content_disposition
from app.services.imports import draft as service
from app.text import clean_line, clean_text


class ImportDraftForm(BaseForm):
    file = FileField(
        "Upload your Word document",
        validators=[FileChosen(office.CHOOSE_DOCX_MESSAGE)],
        widget=GovFileInput(),
    )
    submit = SubmitField("Upload and preview", id="upload-submit", widget=GovSubmitInput())


class ConfirmImportForm(BaseForm):
    """The preview's form: the ticked sections, and for each section found its text
    (text-<id>) and the version the preview was made against (version-<id>)."""

    sections = SelectMultipleField("Sections to import", coerce=as_id, validate_choice=False)
    filename = HiddenField()
    submit = SubmitField("Import the selected sections", id="import-submit", widget=GovSubmitInput())

    def chosen(self) -> list[service.Chosen]:
        return [
            service.Chosen(section_id, self.texts().get(section_id, ""), self._version(section_id))
            for section_id in dict.fromkeys(s for s in self.sections.data or [] if s is not None)
        ]

    def texts(self) -> dict[int, str]:
        found = {}
        for key, value in request.form.items():
            if key.startswith("text-") and (section_id := as_id(key[5:])) is not None:
                found[section_id] = clean_text(value)
        return found

    def versions(self) -> dict[int, int]:
        return {sid: self._version(sid) for sid in self.texts()}

    def _version(self, section_id: int) -> int:
        version = as_id(request.form.get(f"version-{section_id}"))
        return -1 if version is None else version  # -1 never matches: nonsense is a conflict

    @property
    def name(self) -> str:
        return clean_line(self.filename.data or "")[:200]


def _load(contribution_id: int, action: str):
    """The contribution, and a redirect to its task list with the reason when the CSP may not
    (now) import into it or draft it: None when they may."""
    contribution = viewable(contribution_id)
    back = url_for("contributions.task_list", contribution_id=contribution.id)
    return contribution, redirect_unless(action, contribution, back)


def _upload_page(contribution, form, status=200):
    return render_template(
        "contributions/import_upload.html",
        title="Import your draft from Word",
        contribution=contribution,
        form=form,
    ), status


def _preview_page(contribution, preview, form, status=200):
    if not form.sections.raw_data and not form.errors:
        form.sections.data = [s.section.id for s in preview.sections if s.importable]
    form.filename.data = preview.filename
    return render_template(
        "contributions/import_preview.html",
        title="Check what will be imported",
        contribution=contribution,
        preview=preview,
        form=form,
    ), status


@bp.get("/<int:contribution_id>/import/template.docx")
@rule_required(service.TEMPLATE_ACTION)
def draft_template(contribution_id: int):
    contribution, refused = _load(contribution_id, service.TEMPLATE_ACTION)
    if refused:
        return refused
    data = service.template_docx(current_user, contribution)
    response = Response(data, mimetype=service.DOCX_TYPE)
    response.headers["Content-Disposition"] = content_disposition(service.template_filename(contribution))
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/<int:contribution_id>/import", methods=["GET", "POST"])
@rule_required(service.IMPORT_ACTION)
def import_draft(contribution_id: int):
    contribution, refused = _load(contribution_id, service.IMPORT_ACTION)
    if refused:
        return refused
    if request.method == "GET":
        return _upload_page(contribution, ImportDraftForm(formdata=None))
    form = ImportDraftForm()
    if form.validate_on_submit():
        try:
            preview = service.preview(current_user, contribution, form.file.data)
        except ServiceError as exc:
            form.add_error(exc.field, exc.message)
        else:
            return _preview_page(contribution, preview, ConfirmImportForm(formdata=None))
    return _upload_page(contribution, form, 400)


@bp.post("/<int:contribution_id>/import/confirm")
@rule_required(service.IMPORT_ACTION)
def confirm_import(contribution_id: int):
    contribution, refused = _load(contribution_id, service.IMPORT_ACTION)
    if refused:
        return refused
    form = ConfirmImportForm()
    if form.validate_on_submit():
        try:
            imported = service.import_sections(current_user, contribution, form.chosen(), form.name)
        except service.ImportConflict as conflict:
            db.session.rollback()  # a save that raced this one may have written some sections
            return _preview_page(contribution, conflict.preview, form, 409)
        except ServiceError as exc:
            db.session.rollback()
            form.add_error(exc.field, exc.message)
        else:
            db.session.commit()
            _flash_imported(imported, form.name)
            return redirect(url_for("contributions.task_list", contribution_id=contribution.id))
    preview = service.restate(contribution, form.texts(), form.name, form.versions())
    return _preview_page(contribution, preview, form, 400)


def _flash_imported(imported: service.Imported, filename: str) -> None:
    source = f" from {filename}" if filename else ""
    if not imported.sections:
        flash(f"Nothing was imported{source}: the sections you selected already had that text", "info")
        return
    n = len(imported.sections)
    flash_list(
        f"You imported {n} section{'s' if n != 1 else ''}{source}. Each is saved as in progress: check it "
        "and mark it as completed",
        [f"{s.number}. {s.title}" for s in imported.sections],
        "success",
    )
