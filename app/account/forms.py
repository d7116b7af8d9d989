from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextInput
from wtforms import StringField, SubmitField, ValidationError
from wtforms.validators import Length

from app.forms import BaseForm, Required, password_field


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
