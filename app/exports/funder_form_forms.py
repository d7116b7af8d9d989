"""The upload of the funder's application form. The file itself is checked by the service
(app/services/office: a real .docx, no macros, nothing pulled in from other files); the form only
checks that one was chosen."""

from __future__ import annotations

from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import GovFileInput, GovSubmitInput
from wtforms import SubmitField

from app.contributions.document_forms import FileChosen
from app.forms import BaseForm
from app.services.office import CHOOSE_DOCX_MESSAGE


class FunderFormUploadForm(BaseForm):
    file = FileField(
        "Upload the funder’s form",
        validators=[FileChosen(CHOOSE_DOCX_MESSAGE)],
        widget=GovFileInput(),
    )
    submit = SubmitField("Upload the form", widget=GovSubmitInput())
