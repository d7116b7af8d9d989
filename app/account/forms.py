from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput
from wtforms import SubmitField, ValidationError

from app.forms import BaseForm, password_field


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
