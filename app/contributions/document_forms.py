"""Forms for supporting documents. The file's type, size and content are checked by the service
(app.services.documents), which reads the file itself; the form only checks that one was chosen."""

from __future__ import annotations

from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import GovFileInput, GovRadioInput, GovSubmitInput, GovTextInput
from werkzeug.datastructures import FileStorage
from wtforms import RadioField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, StopValidation

from app.forms import BaseForm, Required


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class FileChosen:
    """A file was chosen (a browser sends an empty part with no name when none was). No HTML
    'required' attribute, so the server's message is the one shown."""

    field_flags = {}

    def __init__(self, message: str):
        self.message = message

    def __call__(self, form, field):
        if not (isinstance(field.data, FileStorage) and field.data.filename):
            field.errors[:] = []
            raise StopValidation(self.message)


class UploadDocumentForm(BaseForm):
    file = FileField(
        "Upload a file",
        description="PDF, DOCX, XLSX, ODT, PNG or JPEG, smaller than 10MB",
        validators=[FileChosen("Select a file")],
        widget=GovFileInput(),
    )
    description = StringField(
        "Description (optional)",
        description="For example, Reading problem profile 2018 or Letter of support from Reading Borough Council",
        validators=[Optional(), Length(max=300, message="Description must be 300 characters or fewer")],
        filters=[_strip],
        widget=GovTextInput(),
    )
    submit = SubmitField("Upload file", id="upload-submit", widget=GovSubmitInput())


class DocumentsCompletedForm(BaseForm):
    """'Have you completed this section?' Yes is a valid answer with no documents at all."""

    completed = RadioField(
        "Have you completed this section?",
        choices=[
            SelectChoice("yes", "Yes, I’ve completed this section"),
            SelectChoice("no", "No, I’ll come back to it later"),
        ],
        validators=[Required(message="Select whether you have completed this section")],
        invalid_choice_message="Select whether you have completed this section",
        widget=GovRadioInput(),
    )
    submit = SubmitField("Continue", id="completed-submit", widget=GovSubmitInput())

    @property
    def is_completed(self) -> bool:
        return self.completed.data == "yes"
