"""Forms for the consolidated budget (lead-held lines), sign-off, submission and reopening.

Lead-held budget lines use the CSPs' BudgetLineForm and DeleteItemForm
(app/contributions/budget_forms.py): the same fields, messages, rules and version check."""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovCharacterCount, GovSubmitInput, GovTextInput
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import Length

from app.contributions.budget_forms import BudgetLineForm, DeleteItemForm
from app.dates import TimeError, london_to_utc, parse_time
from app.forms import BaseForm, GovDateField, Required
from app.services.signoff import DECLARATION_MAX, REASON_MAX, REFERENCE_MAX

__all__ = ["BudgetLineForm", "DeleteItemForm", "ReopenForm", "SignOffForm", "SubmittedForm"]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class SignOffForm(BaseForm):
    declaration = TextAreaField(
        "Declaration",
        description="What you are confirming by signing off. It is recorded with your name and the time.",
        validators=[
            Required(message="Enter the declaration"),
            Length(max=DECLARATION_MAX, message=f"Declaration must be {DECLARATION_MAX:,} characters or fewer"),
        ],
        filters=[_strip],
        widget=GovCharacterCount(),
    )
    submit = SubmitField("Sign off the bid", widget=GovSubmitInput())


class SubmittedForm(BaseForm):
    submitted_on = GovDateField(
        "Date it was submitted",
        description="The date it was uploaded to the funder’s portal, for example 28 9 2018",
        validators=[Required(message="Enter the date it was submitted")],
    )
    submitted_time = StringField(
        "Time it was submitted",
        description="UK time, for example 11:45am or 14:30",
        validators=[Required(message="Enter the time it was submitted")],
        filters=[_strip],
        widget=GovTextInput(),
    )
    funder_reference = StringField(
        "Funder’s reference",
        description="The reference the funder’s portal gave the bid",
        validators=[
            Required(message="Enter the funder’s reference for the bid"),
            Length(max=REFERENCE_MAX, message=f"Funder’s reference must be {REFERENCE_MAX} characters or fewer"),
        ],
        filters=[_strip],
        widget=GovTextInput(),
    )
    submit = SubmitField("Mark as submitted", widget=GovSubmitInput())

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators=extra_validators)
        self.submitted_at_utc = None
        if self.submitted_time.data and not self.submitted_time.errors:
            try:
                at = parse_time(self.submitted_time.data)
            except TimeError as exc:
                self.submitted_time.errors = [*self.submitted_time.errors, str(exc)]
                return False
            if self.submitted_on.data and not self.submitted_on.errors:
                try:
                    self.submitted_at_utc = london_to_utc(self.submitted_on.data, at)
                except TimeError as exc:
                    self.submitted_time.errors = [*self.submitted_time.errors, str(exc)]
                    return False
        return valid


class ReopenForm(BaseForm):
    reason = TextAreaField(
        "Why are you reopening the bid?",
        description="For example, the funder asked for a change to the budget. Everyone in your team can see this.",
        validators=[
            Required(message="Enter why the bid is being reopened"),
            Length(max=REASON_MAX, message=f"Reason must be {REASON_MAX:,} characters or fewer"),
        ],
        filters=[_strip],
        widget=GovCharacterCount(),
    )
    submit = SubmitField("Reopen the bid", widget=GovSubmitInput())
