from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSelect, GovSubmitInput, GovTextInput
from wtforms import RadioField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, Regexp, ValidationError

from app.contributions.budget_forms import GovDateField
from app.forms import BaseForm, Required, email_field
from app.models import ROLE_HINTS, ROLE_LABELS, Role
from app.services.audit import ActivityFilter, action_label


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class CSPForm(BaseForm):
    name = StringField(
        "Name",
        description="For example, Reading Community Safety Partnership",
        validators=[
            Required(message="Enter the partnership's name"),
            Length(max=200, message="Name must be 200 characters or fewer"),
        ],
        filters=[_strip],
        widget=GovTextInput(),
    )
    short_name = StringField(
        "Short name (optional)",
        description="Used in tables and exports, for example Reading CSP",
        validators=[Optional(), Length(max=80, message="Short name must be 80 characters or fewer")],
        filters=[_strip],
        widget=GovTextInput(),
    )
    area = StringField(
        "Area (optional)",
        description="For example, Berkshire",
        validators=[Optional(), Length(max=120, message="Area must be 120 characters or fewer")],
        filters=[_strip],
        widget=GovTextInput(),
    )
    submit = SubmitField("Save", widget=GovSubmitInput())


def role_field(roles=tuple(Role)) -> RadioField:
    """The role to give someone, out of these roles (each with its hint: see role_items)."""
    return RadioField(
        "Role",
        choices=[SelectChoice(role.value, ROLE_LABELS[role]) for role in roles],
        validators=[Required(message="Select their role")],
        widget=GovRadioInput(),
    )


class InviteUserForm(BaseForm):
    full_name = StringField(
        "Full name",
        validators=[
            Required(message="Enter their full name"),
            Length(max=200, message="Full name must be 200 characters or fewer"),
        ],
        filters=[_strip],
        widget=GovTextInput(),
    )
    email = email_field(description="We will send the invitation to this address. It is also how they sign in.")
    job_title = StringField(
        "Job title (optional)",
        validators=[Optional(), Length(max=200, message="Job title must be 200 characters or fewer")],
        filters=[_strip],
        widget=GovTextInput(),
    )
    organisation = SelectField(
        "Organisation",
        coerce=int,
        validators=[Required(message="Select their organisation")],
        widget=GovSelect(),
    )
    role = role_field()
    submit = SubmitField("Send invitation", widget=GovSubmitInput())

    def role_items(self):
        """The radios of the roles this form offers, each with its hint."""
        roles = [Role(choice.value) for choice in self.role.choices]
        return [{"value": r.value, "text": ROLE_LABELS[r], "hint": {"text": ROLE_HINTS[r]}} for r in roles]


class EditUserForm(InviteUserForm):
    email = email_field(description="It is also how they sign in. If you change it, we email the old and the new "
                        "address, and any password reset or invitation link already sent stops working.")
    submit = SubmitField("Save changes", widget=GovSubmitInput())


class RequireTwoFactorForm(BaseForm):
    required = RadioField(
        "Must everyone at this partnership use two-factor sign-in?",
        choices=[("yes", "Yes, everyone must set it up at their next sign-in"), ("no", "No, each person chooses")],
        validators=[Required(message="Select whether everyone at this partnership must use two-factor sign-in")],
        widget=GovRadioInput(),
    )
    submit = SubmitField("Save", widget=GovSubmitInput())


class ActivityFilterForm(BaseForm):
    """Narrow the activity page (and its CSV download) by who, what, when and which record.
    Sent with GET: a filter changes nothing, so it carries no security token."""

    class Meta:
        csrf = False

    who = SelectField("Who", coerce=str, validate_choice=False, widget=GovSelect())
    action = SelectField("What they did", coerce=str, validate_choice=False, widget=GovSelect())
    since = GovDateField("From", validators=[Optional()], description="For example, 27 3 2026")
    until = GovDateField("To", validators=[Optional()], description="For example, 31 3 2026")
    record_type = SelectField("Kind of record", coerce=str, validate_choice=False, widget=GovSelect())
    record_id = StringField(
        "Record number (optional)",
        description="The number in the record's address, for example 12 in /admin/users/12",
        validators=[Optional(), Regexp(r"^[0-9]{1,15}$", message="Record number must be a whole number, like 12")],
        filters=[_strip],
        widget=GovTextInput(),
    )
    submit = SubmitField("Apply filters", widget=GovSubmitInput())

    def fill_choices(self, choices) -> None:
        self.who.choices = [("", "Anyone"), *((str(i), name) for i, name in choices.people)]
        self.action.choices = [("", "Any action"), *((a, action_label(a)) for a in choices.actions)]
        self.record_type.choices = [("", "Any kind of record"), *((k, k) for k in choices.record_types)]

    def validate_until(self, field) -> None:
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError("The ‘To’ date must be the same as or after the ‘From’ date")

    def filters(self) -> ActivityFilter:
        def whole(value):
            return int(value) if value and str(value).isdigit() else None

        return ActivityFilter(
            actor_id=whole(self.who.data),
            action=self.action.data or None,
            since=self.since.data,
            until=self.until.data,
            object_type=self.record_type.data or None,
            object_id=whole(self.record_id.data),
        )
