"""Adding a draft round's sections from the funder's application form (.docx).

Stateless, and nothing is saved until the lead has checked: POST the file (or POST "use the form
already uploaded" for the export) -> a page with each section found in editable fields (nothing in
the database; an uploaded file is kept as pending, referenced by a signed hidden field) -> POST those
fields -> the sections are added (or replace the round's), and the uploaded file becomes the round's
funder's form for the export unless "Also use this form for the export" was unticked -> back to the
round's sections with a banner.
"""

from __future__ import annotations

import re

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovFileInput,
    GovRadioInput,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import BooleanField, HiddenField, RadioField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf

from app.contributions.document_forms import FileChosen
from app.extensions import db
from app.forms import ActionForm, BaseForm, Required
from app.policy import get_round_or_404, rule_required
from app.rounds import bp
from app.services import ServiceError, office
from app.services.funder_form import funder_form_of
from app.services.imports import funder_form as service

ACTION = "round.import_sections"


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class UploadFunderForm(BaseForm):
    file = FileField(
        "Upload the funder's application form",
        validators=[FileChosen(office.CHOOSE_DOCX_MESSAGE)],
        widget=GovFileInput(),
    )
    submit = SubmitField("Upload and check the sections", widget=GovSubmitInput())


class _CheckSections(BaseForm):
    """The sections found, each with "Add this section", title, guidance and word limit; the
    checks apply to the sections ticked (an unticked one is kept as typed, and not added)."""

    count = 0
    shortened: frozenset = frozenset()  # the sections whose guidance was cut to fit (as read from the file)
    error_anchors = {"sections": "#include_1"}

    def row(self, i: int) -> dict:
        return {name: self[f"{name}_{i}"] for name in ("found", "include", "title", "guidance", "word_limit")}

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators=extra_validators)
        for i in range(1, self.count + 1):
            row = self.row(i)
            if not row["include"].data:
                continue
            title, guidance, limit = row["title"], row["guidance"], row["word_limit"]
            if not title.data:
                title.errors = [f"Enter a title for section {i}"]
            elif len(title.data) > service.TITLE_MAX:
                title.errors = [f"The title of section {i} must be {service.TITLE_MAX} characters or fewer"]
            if len(guidance.data or "") > service.GUIDANCE_MAX:
                guidance.errors = [f"The guidance for section {i} must be 5,000 characters or fewer"]
            if limit.data and _word_limit(limit.data) is None:
                limit.errors = [f"The word limit for section {i} must be a whole number from 1 to 100,000"]
            valid = valid and not (title.errors or guidance.errors or limit.errors)
        if valid and not self.chosen():
            self.add_error("sections", "Select at least one section to add")
            valid = False
        return valid

    def chosen(self) -> list[service.NewSection]:
        return [
            service.NewSection(
                row["title"].data, (row["guidance"].data or "").strip(), _word_limit(row["word_limit"].data)
            )
            for row in (self.row(i) for i in range(1, self.count + 1))
            if row["include"].data
        ]

    @property
    def replacing(self) -> bool:
        mode = getattr(self, "mode", None)
        return mode is not None and mode.data == "replace"


def _word_limit(text: str | None) -> int | None:
    text = re.sub(r"[,\s]", "", text or "")
    if not re.fullmatch(r"[0-9]{1,7}", text) or not 1 <= int(text) <= service.WORD_LIMIT_MAX:
        return None
    return int(text)


def check_form_class(count: int, current_sections: int):
    attrs = {
        "count": count,
        "rows": HiddenField(),
        "filename": HiddenField(filters=[_strip]),
        "for_export": HiddenField(),  # the signed reference to the uploaded file, kept as pending
        "use_for_export": BooleanField(
            "Also use this form for the export into the funder’s form", widget=GovCheckboxInput()
        ),
        "submit": SubmitField("Add these sections", widget=GovSubmitInput()),
    }
    for i in range(1, count + 1):
        attrs[f"found_{i}"] = HiddenField(filters=[_strip])  # the heading as the form has it, to show
        attrs[f"include_{i}"] = BooleanField("Add this section", widget=GovCheckboxInput())
        attrs[f"title_{i}"] = StringField("Title", filters=[_strip], widget=GovTextInput())
        attrs[f"guidance_{i}"] = TextAreaField("Guidance for writers (optional)", widget=GovTextArea())
        attrs[f"word_limit_{i}"] = StringField(
            "Word limit for the collective bid (optional)", filters=[_strip], widget=GovTextInput()
        )
    if current_sections:
        attrs["mode"] = RadioField(
            f"What should happen to the round's {current_sections} current sections?",
            choices=[
                SelectChoice("add", "Keep them, and add these after them"),
                SelectChoice("replace", "Replace them with these"),
            ],
            validators=[Required(message=_MODE_MESSAGE), AnyOf(("add", "replace"), message=_MODE_MESSAGE)],
            validate_choice=False,
            widget=GovRadioInput(),
        )
    return type("CheckFunderFormSections", (_CheckSections,), attrs)


_MODE_MESSAGE = "Select whether to keep the round's current sections or replace them"


def _posted_rows() -> int:
    text = request.form.get("rows", "")
    return min(int(text), service.MAX_SECTIONS) if re.fullmatch(r"[0-9]{1,4}", text) else 0


def _render_check(rnd, form, status: int = 200, left_out: int = 0, current=None, is_current: bool = False):
    return render_template(
        "rounds/import_form_check.html",
        title="Check the sections from the funder's form",
        round=rnd,
        form=form,
        left_out=left_out,
        current_form=current,  # the round's funder's form for the export, if it has one
        is_current=is_current,  # the sections were read from it (or from the same file)
    ), status


def _check_page(rnd, found: service.FoundForm):
    data = {"rows": str(len(found.sections)), "filename": found.filename}
    if found.pending:
        data |= {"for_export": found.pending, "use_for_export": True}
    if rnd.sections:
        data["mode"] = "add"
    for i, section in enumerate(found.sections, start=1):
        data |= {
            f"found_{i}": section.heading[:300],
            f"include_{i}": section.include,
            f"title_{i}": section.title,
            f"guidance_{i}": section.guidance,
            f"word_limit_{i}": str(section.word_limit or ""),
        }
    check = check_form_class(len(found.sections), len(rnd.sections))(formdata=None, data=data)
    check.shortened = {i for i, s in enumerate(found.sections, start=1) if s.shortened}
    return _render_check(rnd, check, left_out=found.left_out, current=found.current, is_current=found.is_current)


def _upload_page(rnd, form, status: int):
    return render_template(
        "rounds/import_form.html", title="Add sections from the funder's form", round=rnd, form=form,
        current_form=funder_form_of(rnd), use_form=ActionForm(formdata=None),
    ), status


@bp.route("/<int:round_id>/sections/from-funders-form", methods=["GET", "POST"])
@rule_required(ACTION)
def import_form(round_id: int):
    rnd = get_round_or_404(current_user, round_id, ACTION)
    form = UploadFunderForm()
    if form.validate_on_submit():
        try:
            found = service.read_form(current_user, rnd, form.file.data)
        except ServiceError as exc:
            form.add_error(exc.field, exc.message)
        else:
            return _check_page(rnd, found)
    return _upload_page(rnd, form, 400 if form.errors else 200)


@bp.post("/<int:round_id>/sections/from-funders-form/stored")
@rule_required(ACTION)
def import_stored_form(round_id: int):
    """Read the sections from the funder's form already uploaded for the export."""
    rnd = get_round_or_404(current_user, round_id, ACTION)
    form = UploadFunderForm(formdata=None)
    if ActionForm().validate_on_submit():
        try:
            found = service.read_stored_form(current_user, rnd)
        except ServiceError as exc:
            form.add_error(exc.field, exc.message)
        else:
            return _check_page(rnd, found)
    return _upload_page(rnd, form, 400)


@bp.post("/<int:round_id>/sections/from-funders-form/check")
@rule_required(ACTION)
def import_form_save(round_id: int):
    rnd = get_round_or_404(current_user, round_id, ACTION)
    rows = _posted_rows()
    if not rows:  # nothing was found and checked: start again from the upload
        return redirect(url_for("rounds.import_form", round_id=rnd.id))
    form = check_form_class(rows, len(rnd.sections))()
    if form.validate_on_submit():
        try:
            for_export = form.for_export.data if form.use_for_export.data else None
            added = service.add_sections(
                current_user, rnd, form.chosen(), replace=form.replacing, filename=form.filename.data,
                for_export=for_export,
            )
        except ServiceError as exc:
            db.session.rollback()
            form.add_error(exc.field, exc.message)
        else:
            db.session.commit()
            sections = "1 section" if added == 1 else f"{added} sections"
            message = (f"{sections} from the funder's form replaced the round's sections" if form.replacing
                       else f"{sections} added from the funder's form")
            if for_export:
                message += ". The form will also be used for the export into the funder’s form"
            flash(message, "success")
            return redirect(url_for("rounds.show", round_id=rnd.id, _anchor="sections"))
    return _render_check(rnd, form, 400, current=funder_form_of(rnd))
