"""The form that asks for an export: which kind of file."""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSubmitInput
from wtforms import RadioField, SubmitField

from app.forms import BaseForm, Required
from app.services.exports import formats_for

FORMAT_MESSAGE = "Select the kind of file to export"


class ExportForm(BaseForm):
    # validate_choice=False: the service says which formats are allowed, in GOV.UK words.
    format = RadioField(
        "Kind of file",
        validators=[Required(message=FORMAT_MESSAGE)],
        widget=GovRadioInput(),
        validate_choice=False,
    )
    submit = SubmitField("Create export", widget=GovSubmitInput())

    def __init__(self, scope: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.scope = scope
        self.with_funder_form = False
        self.format.choices = [(f.key, f.label) for f in formats_for(scope)]

    def offer_funder_form(self, offered: bool) -> None:
        """Offer the funder's form too (the round has one)."""
        self.with_funder_form = offered
        self.format.choices = [(f.key, f.label) for f in formats_for(self.scope, offered)]

    def format_items(self) -> list[dict]:
        return [
            {"value": f.key, "text": f.label, "hint": {"text": f.hint}, "checked": self.format.data == f.key}
            for f in formats_for(self.scope, self.with_funder_form)
        ]
