"""Changing one deadline: a GOV.UK date input and a time (as in the round's details form), a reason,
and for the funder's deadline whether to move the internal deadline by the same amount."""

from govuk_frontend_wtf.wtforms_widgets import GovCharacterCount, GovCheckboxInput, GovSubmitInput, GovTextInput
from wtforms import BooleanField, StringField, SubmitField, TextAreaField
from wtforms.validators import Length

from app.forms import BaseForm, GovDateField, Required
from app.rounds.forms import DeadlineMixin
from app.services.deadlines import REASON_MAX

TIME_HINT = (
    "UK time, for example 12pm, 9:30am or 17:00. When the clocks go back in October, the hour from 1am "
    "to 2am happens twice: a time in that hour means the first one, in British Summer Time (BST)."
)


def change_form_class(kind: str):
    """The form for one kind of deadline (its labels name what is changed, so that the date
    input's own messages read well)."""
    noun = "sign-off target" if kind == "sign_off" else "deadline"
    attrs = {
        "new_date": GovDateField(
            f"New {noun}",
            validators=[Required(message=f"Enter the new {noun}")],
            description="For example, 28 9 2018",
        ),
        "new_time": StringField(
            f"Time of the new {noun}",
            description=TIME_HINT,
            validators=[Required(message="Enter a time")],
            filters=[lambda v: v.strip() if isinstance(v, str) else v],
            widget=GovTextInput(),
        ),
        "reason": TextAreaField(
            "Reason for the change",
            description="For example, Home Office extended the deadline to 28 September. Everyone in the round "
            "sees this, and it is kept in the round’s history.",
            validators=[
                Required(message="Enter the reason for the change"),
                Length(max=REASON_MAX, message=f"Reason must be {REASON_MAX} characters or fewer"),
            ],
            widget=GovCharacterCount(),
        ),
        "submit": SubmitField("Save and email everyone", widget=GovSubmitInput()),
    }
    if kind == "funder":
        attrs["move_internal"] = BooleanField(
            "Move the internal deadline by the same amount", widget=GovCheckboxInput()
        )

    def validate_new_time(self, field):
        self.validate_time_text(field)

    attrs["validate_new_time"] = validate_new_time
    return type("DeadlineChangeForm", (BaseForm, DeadlineMixin), attrs)
