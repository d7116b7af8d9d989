"""Shared form pieces: a base form with GOV.UK error wording, and common fields."""

from __future__ import annotations

from flask import g
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovDateInput, GovPasswordInput, GovSubmitInput, GovTextInput
from werkzeug.datastructures import MultiDict
from wtforms import DateField, Field, PasswordField, StringField, SubmitField, TextAreaField
from wtforms.validators import Email, InputRequired, Length, StopValidation
from wtforms.widgets import TextArea

from app.models.base import as_id  # noqa: F401 - for routes reading a number from a link
from app.money import MAX_PENCE, MoneyError, parse_pence, pence_to_input
from app.text import Tidied, clean_line, clean_text, tidy


class Required(InputRequired):
    """InputRequired without the HTML 'required' attribute: the server's message is the one
    shown (GOV.UK advice), and screen readers do not announce every field as required."""

    field_flags = {}

    def __call__(self, form, field):
        # A date typed in part ("", "3", "2030") is not missing: its own message says which part is.
        if isinstance(field, GovDateField):
            if not any((part or "").strip() for part in field.raw_data or []):
                field.errors[:] = []
                raise StopValidation(self.message)
            return
        super().__call__(form, field)


CSRF_EXPIRED_MESSAGE = (
    "This page timed out for your security. We have kept what you entered: check it and submit again"
)


def _is_one_line(field) -> bool:
    """A text input (not a textarea, by its field or its widget, nor a password)."""
    return (
        isinstance(field, StringField)
        and not isinstance(field, (TextAreaField, PasswordField))
        and not isinstance(field.widget, TextArea)
    )


def clean_formdata(form, formdata):
    """What every form reads: each multi-line text tidied (app.text.tidy: Word's bullets made a
    list, smart quotes made straight, control characters dropped ...), one-line fields' cleaned
    with clean_line, other values with clean_text; passwords and files as they came. Done once
    here, before any field sees the values, so the page shows again (and the services get) the
    tidied text. What tidying changed in each field is kept in form.tidied (name -> changes)."""
    if formdata is None:
        return None
    fields = {field.name: field for field in form}
    cleaned = MultiDict()
    tidied: dict[str, tuple[str, ...]] = {}
    for name, value in formdata.items(multi=True):
        field = fields.get(name)
        if isinstance(value, str) and not isinstance(field, PasswordField):
            if _is_one_line(field):
                value = clean_line(value)
            elif _is_multi_line(field):
                result = tidy(value)
                value = result.text
                if result.changes:
                    tidied[name] = result.changes
            else:
                value = clean_text(value)
        cleaned.add(name, value)
    form.tidied = tidied
    return cleaned


def _is_multi_line(field) -> bool:
    return isinstance(field, TextAreaField) or isinstance(getattr(field, "widget", None), TextArea)


_CHOOSE = "Select one of the options shown"
# WTForms' own messages, for a value no page of ours sends (a choice not offered, a number in a
# field the page fills): in GOV.UK's words.
WTFORMS_MESSAGES = {
    "Not a valid choice.": _CHOOSE,
    "Invalid Choice: could not coerce.": _CHOOSE,
    "'%(value)s' is not a valid choice for this field.": _CHOOSE,
    "'%(value)s' are not valid choices for this field.": _CHOOSE,
    "Invalid choice(s): one or more data inputs could not be coerced.": _CHOOSE,
    "Not a valid integer value.": "Enter a whole number, like 12",
    "Not a valid decimal value.": "Enter a number, like 12.5",
    "Not a valid float value.": "Enter a number, like 12.5",
}


class GovukMessages:
    """WTForms' translations with its built-in messages in GOV.UK's words."""

    def __init__(self, translations):
        self.translations = translations

    def gettext(self, string):
        if string in WTFORMS_MESSAGES:
            return WTFORMS_MESSAGES[string]
        return self.translations.gettext(string) if self.translations else string

    def ngettext(self, singular, plural, n):
        if self.translations:
            return self.translations.ngettext(singular, plural, n)
        return singular if n == 1 else plural


class BaseForm(FlaskForm):
    """All forms: typed text cleaned of control characters (clean_formdata); when the CSRF token
    has expired, keep what the user typed and say so."""

    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form, formdata):
            return clean_formdata(form, super().wrap_formdata(form, formdata))

        def get_translations(self, form):
            return GovukMessages(super().get_translations(form))

    tidied: dict[str, tuple[str, ...]] = {}  # set by clean_formdata

    def tidied_message(self, field_name: str = "text") -> str | None:
        """"We tidied your text: ..." when tidying changed what was sent in this field, else None."""
        changes = self.tidied.get(field_name)
        return Tidied("", changes).message if changes else None

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators=extra_validators)
        csrf_field = getattr(self, "csrf_token", None)
        if csrf_field is not None and csrf_field.errors:
            csrf_field.errors = [CSRF_EXPIRED_MESSAGE]
            g.csrf_problem = True
        return valid

    # Messages given to more than one field on purpose, listed once in the error summary (every
    # other message is listed for each field that has it).
    shared_messages: frozenset[str] = frozenset()
    # Names a service's message may name that are not fields (a group of checkboxes): the summary
    # links to the element given here.
    error_anchors: dict[str, str] = {}

    def add_error(self, field_name: str | None, message: str) -> None:
        """Attach a service's message to a field (or to a group in error_anchors, or to the form as
        a whole)."""
        field = getattr(self, field_name, None) if field_name else None
        if not isinstance(field, Field):
            if field_name in self.error_anchors:
                self._error_hrefs = {**getattr(self, "_error_hrefs", {}), message: self.error_anchors[field_name]}
                self.group_errors = {**getattr(self, "group_errors", {}), field_name: message}
            self.form_errors.append(message)
        else:
            field.errors = [*field.errors, message]

    def group_error(self, name: str) -> str | None:
        """The message for a group of fields (error_anchors), for its inline error."""
        return getattr(self, "group_errors", {}).get(name)

    @property
    def error_list(self) -> list[dict]:
        """Error summary items, in field order, each linking to its field."""
        hrefs = getattr(self, "_error_hrefs", {})
        items = [{"text": msg, "href": hrefs.get(msg, "#main-content")} for msg in self.form_errors]
        listed = set()
        for field in self:
            if field.errors and field.name != "csrf_token":
                message = field.errors[0]
                if message in self.shared_messages and message in listed:
                    continue  # one message the form gives two fields (sign-in), listed at the first
                listed.add(message)
                items.append({"text": message, "href": getattr(field, "error_href", None) or f"#{field.id}"})
        csrf_field = getattr(self, "csrf_token", None)
        if csrf_field is not None and csrf_field.errors:
            submit = next((f for f in self if isinstance(f, SubmitField)), None)
            items.insert(0, {"text": csrf_field.errors[0], "href": f"#{submit.id}" if submit else "#main-content"})
        return items


class ActionForm(BaseForm):
    """A form with only a button, for POST actions such as sign out or deactivate."""

    submit = SubmitField("Continue", widget=GovSubmitInput())


def email_field(label: str = "Email address", **kwargs) -> StringField:
    return StringField(
        label,
        validators=[
            Required(message="Enter an email address"),
            Length(max=254, message="Email address must be 254 characters or fewer"),
            Email(
                message="Enter an email address in the correct format, like name@example.com",
                check_deliverability=False,
            ),
        ],
        widget=GovTextInput(),
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        **kwargs,
    )


def password_field(label: str, message: str, **kwargs) -> PasswordField:
    return PasswordField(label, validators=[Required(message=message)], widget=GovPasswordInput(), **kwargs)


# The years a date of this service can be in (deadlines, submissions, outcomes): a year like 9999
# would be no use to anyone, and reminders counted from it would go past the last date there is.
FIRST_YEAR, LAST_YEAR = 1900, 2100


class GovDateField(DateField):
    """A GOV.UK date input (day, month, year) with GOV.UK error messages; the error summary
    links to the day input."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("widget", GovDateInput())
        super().__init__(label, validators, format="%d %m %Y", **kwargs)

    first_wrong = "day"  # the input the error summary links to: the first part missing, else the day

    @property
    def error_href(self) -> str:
        return f"#{self.name}-{self.first_wrong}"

    def process_formdata(self, valuelist):
        # The GOV.UK widget shows what was typed as exactly (day, month, year): a form sent without
        # the field (or with some parts missing) must not make the page fail when it is shown again.
        self.raw_data = (list(valuelist or []) + ["", "", ""])[:3]
        self.data = None
        parts = [(v or "").strip() for v in self.raw_data]
        if not any(parts):
            return
        if any(not p for p in parts):
            missing = [name for name, p in zip(("day", "month", "year"), parts, strict=True) if not p]
            self.first_wrong = missing[0]
            raise ValueError(f"{self.label.text} must include a {' and '.join(missing)}")
        if len(parts[2]) != 4:
            self.first_wrong = "year"
            raise ValueError("Year must include 4 numbers")
        try:
            super().process_formdata([" ".join(parts)])
        except ValueError:
            self.data = None
            raise ValueError(f"{self.label.text} must be a real date") from None
        if not FIRST_YEAR <= self.data.year <= LAST_YEAR:
            self.data = None
            raise ValueError(f"{self.label.text} must be between {FIRST_YEAR} and {LAST_YEAR}")


class MoneyField(Field):
    """Pounds and pence in a GOV.UK text input with a £ prefix; `data` is integer pence or None.

    `error_name` starts the field's messages (default: the label). A bad amount is a process error,
    so the field's other validators still see what was typed (Required still says "Enter ...").
    """

    widget = GovTextInput()

    def __init__(self, label=None, validators=None, error_name: str | None = None, maximum: int = MAX_PENCE, **kwargs):
        render_kw = {"inputmode": "decimal", "spellcheck": "false", "autocomplete": "off"}
        render_kw.update(kwargs.pop("render_kw", None) or {})
        super().__init__(label, validators, render_kw=render_kw, **kwargs)
        self.error_name = error_name or str(self.label.text)
        self.maximum = maximum

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        self.data = None
        try:
            self.data = parse_pence(valuelist[0], self.error_name, self.maximum)
        except MoneyError as exc:
            raise ValueError(exc.message) from None

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return pence_to_input(self.data)


class MoneyRequired:
    """'Enter ...' when nothing (or only spaces) was typed; a bad amount keeps its own message."""

    field_flags: dict = {}

    def __init__(self, message: str):
        self.message = message

    def __call__(self, form, field) -> None:
        if field.data is None and not field.process_errors:
            field.errors[:] = []
            raise StopValidation(self.message)
