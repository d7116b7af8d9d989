from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextInput
from wtforms import StringField, SubmitField
from wtforms.validators import Length

from app.forms import BaseForm, Required, email_field, password_field


class SignInForm(BaseForm):
    # A wrong email address or password is one message on both fields, listed once.
    shared_messages = frozenset({"Enter a correct email address and password"})
    email = email_field()
    password = password_field("Password", "Enter your password")
    submit = SubmitField("Sign in", widget=GovSubmitInput())


class SetPasswordForm(BaseForm):
    password = password_field(
        "Create a password",
        "Enter a password",
        description="Use 12 characters or more. A few unrelated words together make a strong password.",
    )
    confirm = password_field("Confirm your password", "Confirm your password")
    submit = SubmitField("Save password and continue", widget=GovSubmitInput())

    def validate_confirm(self, field):
        from wtforms.validators import ValidationError

        if self.password.data and field.data != self.password.data:
            raise ValidationError("Passwords do not match. Enter the same password twice")


class ForgotPasswordForm(BaseForm):
    email = email_field(description="Use the email address your invitation was sent to.")
    submit = SubmitField("Send reset link", widget=GovSubmitInput())


class TwoFactorCodeForm(BaseForm):
    code = StringField(
        "Security code",
        validators=[Required("Enter the 6-digit code from your authenticator app"), Length(max=40)],
        description="Enter the 6-digit code your authenticator app shows for this service. "
        "If you do not have your phone, enter one of your recovery codes.",
        widget=GovTextInput(),
    )
    submit = SubmitField("Continue", widget=GovSubmitInput())
