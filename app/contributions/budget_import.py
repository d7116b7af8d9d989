"""A contribution's budget to and from Excel: the template to download, the upload with its
preview, and the confirmation that imports the lines (app/services/imports/budget.py).

The preview keeps nothing on the server: its confirmation form carries the lines read (hidden
fields, checked again when confirmed) and the budget's state when the preview was shown, so
replacing the budget's lines is refused if someone changed them meanwhile.
"""

from __future__ import annotations

import io

from flask import flash, redirect, render_template, send_file, url_for
from flask_login import current_user
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import GovFileInput, GovRadioInput, GovSubmitInput
from wtforms import Field, HiddenField, RadioField, SubmitField
from wtforms.fields.choices import SelectChoice

from app.contributions import bp
from app.contributions.document_forms import FileChosen
from app.extensions import db
from app.forms import BaseForm, Required
from app.policy import get_contribution_or_404, redirect_unless, rule_required
from app.services import ServiceError
from app.services import budget as budget_service
from app.services.imports import budget as service

ACTION = "contribution.import_budget"
CHOOSE_MODE = "Select whether to add these lines to your budget or replace its lines with them"


class UploadBudgetForm(BaseForm):
    file = FileField(
        "Upload your budget sheet",
        validators=[FileChosen("Select an Excel workbook (.xlsx)")],
        widget=GovFileInput(),
    )
    submit = SubmitField("Upload and check", id="upload-submit", widget=GovSubmitInput())


class CarriedField(Field):
    """Every value sent under this name (the preview's lines, in chunks)."""

    def process_formdata(self, valuelist):
        self.data = [v for v in valuelist if isinstance(v, str)]

    def _value(self):
        return ""


class ConfirmImportForm(BaseForm):
    mode = RadioField(
        "What do you want to do with these lines?",
        choices=[
            SelectChoice("add", "Add them to your budget"),
            SelectChoice("replace", "Replace every line of your budget with them"),
        ],
        validators=[Required(message=CHOOSE_MODE)],
        invalid_choice_message=CHOOSE_MODE,
        widget=GovRadioInput(),
    )
    lines = CarriedField()
    state = HiddenField()
    submit = SubmitField("Import budget lines", id="confirm-submit", widget=GovSubmitInput())

    @property
    def replace(self) -> bool:
        return self.mode.data == "replace"


def _importable(contribution_id: int):
    """(contribution, None), or (contribution, a redirect to the budget with the reason) when locked."""
    contribution = get_contribution_or_404(current_user, contribution_id)
    back = url_for("contributions.budget", contribution_id=contribution.id)
    return contribution, redirect_unless(ACTION, contribution, back)


def _upload_page(contribution, form, status: int = 200):
    return render_template(
        "contributions/budget_import.html",
        title="Import budget lines from Excel",
        contribution=contribution,
        form=form,
        max_lines=service.MAX_LINES,
    ), status


def _preview_page(contribution, preview, form, status: int = 200):
    errors = [{"text": message, "href": f"#row-{row}"} for row, message in preview.errors[:10]]
    if len(preview.errors) > 10:
        errors.append({"text": f"There are {len(preview.errors) - 10} more problems – see the list of problems",
                       "href": "#problems"})
    return render_template(
        "contributions/budget_import_preview.html",
        title="Check the budget lines from your file",
        contribution=contribution,
        preview=preview,
        form=form,
        upload_form=UploadBudgetForm(formdata=None),
        carried=service.carry(preview),
        error_list=errors if preview.errors else None,
        page_has_errors=bool(preview.errors),
        max_lines=service.MAX_LINES,
    ), status


@bp.get("/<int:contribution_id>/budget/template.xlsx")
@rule_required(ACTION)
def budget_template(contribution_id: int):
    contribution, locked = _importable(contribution_id)
    if locked:
        return locked
    data = service.template_workbook(contribution)
    response = send_file(
        io.BytesIO(data),
        mimetype=service.XLSX_MIME,
        as_attachment=True,
        download_name=service.template_filename(contribution),
        max_age=None,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/<int:contribution_id>/budget/import", methods=["GET", "POST"])
@rule_required(ACTION)
def import_budget(contribution_id: int):
    contribution, locked = _importable(contribution_id)
    if locked:
        return locked
    form = UploadBudgetForm()
    if form.validate_on_submit():
        try:
            preview = service.read_upload(current_user, contribution, form.file.data)
        except ServiceError as exc:
            form.add_error(exc.field or "file", exc.message)
        else:
            confirm = ConfirmImportForm(formdata=None, state=preview.state)
            return _preview_page(contribution, preview, confirm, 400 if preview.errors else 200)
    return _upload_page(contribution, form, 400 if form.errors else 200)


@bp.post("/<int:contribution_id>/budget/import/confirm")
@rule_required(ACTION)
def confirm_budget_import(contribution_id: int):
    contribution, locked = _importable(contribution_id)
    if locked:
        return locked
    form = ConfirmImportForm()
    if form.validate_on_submit():
        try:
            done = service.import_lines(
                current_user, contribution, form.lines.data, replace=form.replace, expected_state=form.state.data
            )
        except ServiceError as exc:
            upload = UploadBudgetForm(formdata=None)
            upload.add_error("file", exc.message)
            return _upload_page(contribution, upload, 409 if isinstance(exc, budget_service.BudgetChanged) else 400)
        db.session.commit()
        lines = f"{done.added} budget line{'s' if done.added != 1 else ''}"
        if done.replaced:
            were = f"{done.replaced} line{'s' if done.replaced != 1 else ''}"
            flash(f"{lines} added, replacing the {were} that your budget had", "success")
        else:
            flash(f"{lines} added", "success")
        return redirect(url_for("contributions.budget", contribution_id=contribution.id))
    try:
        preview = service.preview_of_carried(contribution, form.lines.data or [])
    except ServiceError as exc:
        upload = UploadBudgetForm(formdata=None)
        upload.add_error("file", exc.message)
        return _upload_page(contribution, upload, 400)
    preview.state = (form.state.data or "")[:50_000]
    return _preview_page(contribution, preview, form, 400)
