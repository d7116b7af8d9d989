from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSubmitInput, GovTextInput
from wtforms import RadioField, StringField, SubmitField, ValidationError
from wtforms.validators import Length

from app.forms import BaseForm, Required, password_field
from app.models import EmailFrequency


class ChangePasswordForm(BaseForm):
    current_password = password_field("Current password", "Enter your current password")
    new_password = password_field(
        "New password",
        "Enter a new password",
        description="Use 12 characters or more. A few unrelated words together make a strong password.",
    )
    confirm = password_field("Confirm new password", "Confirm your new password")
    submit = SubmitField("Change password", widget=GovSubmitInput())

    def validate_confirm(self, field):
        if self.new_password.data and field.data != self.new_password.data:
            raise ValidationError("Passwords do not match. Enter the same new password twice")


class ConfirmAppForm(BaseForm):
    code = StringField(
        "Enter the 6-digit code your app shows",
        validators=[Required("Enter the 6-digit code from your authenticator app"), Length(max=20)],
        widget=GovTextInput(),
    )
    submit = SubmitField("Turn on two-factor sign-in", widget=GovSubmitInput())


class TurnOffTwoFactorForm(BaseForm):
    password = password_field("Your password", "Enter your password")
    submit = SubmitField("Turn off two-factor sign-in", widget=GovSubmitInput())


FREQUENCY_HINTS = {
    EmailFrequency.IMMEDIATELY: "An email each time something happens that you need to know about.",
    EmailFrequency.DAILY: "One email at 9am UK time on working days (not weekends or bank holidays), "
    "listing everything since the last one. Nothing is sent on days with nothing new.",
    EmailFrequency.OFF: "No notification emails. You can still see everything on the What’s new page.",
}


class EmailPreferencesForm(BaseForm):
    frequency = RadioField(
        "How do you want to get notification emails?",
        choices=[(f.value, f.label) for f in EmailFrequency],
        validators=[Required(message="Select how you want to get notification emails")],
        widget=GovRadioInput(),
    )
    # CSP contributors only (the route removes it for everyone else).
    follow_csp = RadioField(
        "Do you want to get what your CSP’s managers get?",
        choices=[("yes", "Yes"), ("no", "No, only what is about me")],
        validators=[Required(message="Select yes if you want to get what your CSP’s managers get")],
        widget=GovRadioInput(),
    )
    submit = SubmitField("Save email preferences", widget=GovSubmitInput())

    def frequency_items(self) -> list[dict]:
        return [
            {"value": f.value, "text": f.label, "hint": {"text": FREQUENCY_HINTS[f]},
             "checked": self.frequency.data == f.value}
            for f in EmailFrequency
        ]

    def follow_csp_items(self) -> list[dict]:
        return [
            {"value": value, "text": label, "checked": self.follow_csp.data == value}
            for value, label in self.follow_csp.choices
        ]
