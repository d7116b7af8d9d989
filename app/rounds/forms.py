from govuk_frontend_wtf.wtforms_widgets import (
    GovCharacterCount,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import IntegerField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from app.dates import TimeError, london_to_utc, parse_time
from app.forms import BaseForm, GovDateField, MoneyField, Required


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class DeadlineMixin:
    """A deadline typed as a GOV.UK date plus a time, in London time."""

    def deadline(self, prefix: str):
        day = getattr(self, f"{prefix}_date")
        at = getattr(self, f"{prefix}_time")
        if day.errors or at.errors or day.data is None:
            return None
        try:
            return london_to_utc(day.data, parse_time(at.data))
        except TimeError as exc:
            at.errors = [*at.errors, name_the_time(str(exc), TIME_OF.get(at.name))]
            return None

    def validate_time_text(self, field):
        try:
            parse_time(field.data)
        except TimeError as exc:
            raise ValidationError(name_the_time(str(exc), TIME_OF.get(field.name))) from None


# What each time field is the time of, in its messages: a form with two times ("Enter a time" twice)
# says which one is wrong.
TIME_OF = {
    "funder_time": "the funder's deadline",
    "internal_time": "the internal deadline",
    "until_time": "the new deadline",
}


def name_the_time(message: str, of: str | None) -> str:
    """"Enter a time like 12pm" -> "Enter a time for the internal deadline like 12pm"."""
    if of and message.startswith("Enter a time"):
        return message.replace("Enter a time", f"Enter a time for {of}", 1)
    return message


def _time_field(label: str, of: str) -> StringField:
    return StringField(
        label,
        description="For example, 12pm, 9:30am or 17:00",
        validators=[Required(message=f"Enter a time for {of}")],
        filters=[_strip],
        widget=GovTextInput(),
    )


class RoundDetailsForm(BaseForm, DeadlineMixin):
    fund_name = StringField(
        "Fund",
        description="For example, Early Intervention Youth Fund",
        validators=[
            Required(message="Enter the name of the fund"),
            Length(max=200, message="Fund must be 200 characters or fewer"),
        ],
        filters=[_strip],
        widget=GovTextInput(),
    )
    funder = StringField(
        "Funder",
        description="For example, Home Office",
        validators=[
            Required(message="Enter the funder"),
            Length(max=200, message="Funder must be 200 characters or fewer"),
        ],
        filters=[_strip],
        widget=GovTextInput(),
    )
    title = StringField(
        "Round title",
        description="How everyone will see this round, for example Early Intervention Youth Fund 2018",
        validators=[
            Required(message="Enter a title for the round"),
            Length(max=200, message="Title must be 200 characters or fewer"),
        ],
        filters=[_strip],
        widget=GovTextInput(),
    )
    summary = TextAreaField(
        "What the funder asks for (optional)",
        description="CSP managers see this when they start their contribution.",
        validators=[Optional(), Length(max=5000, message="Summary must be 5,000 characters or fewer")],
        widget=GovTextArea(),
    )
    funder_date = GovDateField(
        "Funder's deadline",
        validators=[Required(message="Enter the funder's deadline")],
        description="For example, 14 9 2018",
    )
    funder_time = _time_field("Time of the funder's deadline", TIME_OF["funder_time"])
    internal_date = GovDateField(
        "Internal deadline for CSP contributions",
        validators=[Required(message="Enter the internal deadline")],
        description="Well before the funder's deadline, to leave time to review and merge. For example, 31 8 2018",
    )
    internal_time = _time_field("Time of the internal deadline", TIME_OF["internal_time"])
    submit = SubmitField("Save and continue", widget=GovSubmitInput())

    def validate_funder_time(self, field):
        self.validate_time_text(field)

    def validate_internal_time(self, field):
        self.validate_time_text(field)


class OpenRoundDetailsForm(RoundDetailsForm):
    """Once a round is open its deadlines are changed on the deadlines page, with a reason."""

    funder_date = None
    funder_time = None
    internal_date = None
    internal_time = None


class NewRoundForm(RoundDetailsForm):
    start_from = RadioField(
        "Start from",
        validators=[Required(message="Choose where to start from")],
        widget=GovRadioInput(),
    )

    def set_start_choices(self, templates, earlier_rounds):
        choices = [SelectChoice(f"template:{t['key']}", f"The {t['label']} template") for t in templates]
        choices += [SelectChoice(f"round:{r.id}", f"A copy of {r.title}") for r in earlier_rounds]
        choices.append(SelectChoice("funder-form", "The funder's application form (.docx), uploaded next"))
        choices.append(SelectChoice("blank", "An empty template"))
        self.start_from.choices = choices


def _limit_field(label: str, hint: str) -> IntegerField:
    return IntegerField(
        label,
        description=hint,
        validators=[
            Optional(),
            NumberRange(min=1, max=100000, message="Word limit must be a whole number from 1 to 100,000"),
        ],
        widget=GovTextInput(),
    )


class SectionForm(BaseForm):
    title = StringField(
        "Section title",
        validators=[
            Required(message="Enter the section title"),
            Length(max=200, message="Title must be 200 characters or fewer"),
        ],
        filters=[_strip],
        widget=GovTextInput(),
    )
    guidance = TextAreaField(
        "Guidance for writers (optional)",
        description="What the funder wants in this section. Writers see it above their text box.",
        validators=[Optional(), Length(max=5000, message="Guidance must be 5,000 characters or fewer")],
        widget=GovCharacterCount(),
    )
    word_limit = _limit_field(
        "Word limit for the collective bid (optional)", "The funder's limit for the merged section"
    )
    csp_word_limit = _limit_field(
        "Word limit for each CSP (optional)", "Keeps each partner's part short enough to merge"
    )
    required = RadioField(
        "Is this section required?",
        choices=[SelectChoice("yes", "Yes"), SelectChoice("no", "No, it is optional")],
        validators=[Required(message="Select whether the section is required")],
        widget=GovRadioInput(),
    )
    csp_contributes = RadioField(
        "Who writes it?",
        choices=[
            SelectChoice("yes", "Each CSP contributes, and the lead bidder merges their parts"),
            SelectChoice("no", "Only the lead bidder writes it"),
        ],
        validators=[Required(message="Select who writes the section")],
        widget=GovRadioInput(),
    )
    submit = SubmitField("Save section", widget=GovSubmitInput())

    def validate_guidance(self, field):
        field.data = (field.data or "").strip()


class ExtensionForm(BaseForm, DeadlineMixin):
    until_date = GovDateField(
        "New deadline for this CSP",
        validators=[Required(message="Enter the new deadline")],
        description="For example, 21 9 2018",
    )
    until_time = _time_field("Time of the new deadline", TIME_OF["until_time"])
    reason = TextAreaField(
        "Reason",
        description="The CSP manager sees this, and it is kept in the round's history.",
        validators=[
            Required(message="Enter the reason for the extension"),
            Length(max=1000, message="Reason must be 1,000 characters or fewer"),
        ],
        widget=GovTextArea(),
    )
    submit = SubmitField("Give extension", widget=GovSubmitInput())

    def validate_until_time(self, field):
        self.validate_time_text(field)


def participants_form_class(csps, managers_by_csp):
    """A form with a 'takes part' checkbox and a manager choice for each CSP."""
    from govuk_frontend_wtf.wtforms_widgets import GovCheckboxInput
    from wtforms import BooleanField

    attrs = {
        "submit": SubmitField("Save CSPs taking part", widget=GovSubmitInput()),
        # The service's "Select the CSPs taking part" links to the first checkbox (id "csps").
        "error_anchors": {"csps": "#csps"},
    }
    for csp in csps:
        attrs[f"take_part_{csp.id}"] = BooleanField(csp.name, widget=GovCheckboxInput())
        choices = [SelectChoice("", "Choose a CSP manager")] + [
            SelectChoice(str(u.id), u.full_name) for u in managers_by_csp.get(csp.id, [])
        ]
        attrs[f"manager_{csp.id}"] = SelectField(
            f"Manager for {csp.name}",
            choices=choices,
            widget=GovSelect(),
            validators=[_manager_in_list(csp)],
            validate_choice=False,
        )
    return type("ParticipantsForm", (BaseForm,), attrs)


def _manager_in_list(csp):
    """A manager from the CSP's own list (or none yet): anything else is an error, not a lookup.
    Only for a CSP ticked: an unticked CSP's manager is not used (nor shown)."""

    def check(form, field):
        chosen = form[f"take_part_{csp.id}"].data
        if chosen and field.data and field.data not in {value for value, *_ in field.iter_choices()}:
            raise ValidationError(f"Choose the CSP manager for {csp.name} from the list")

    return check


def chosen_participants(form, csps) -> dict[int, int | None]:
    """The CSPs ticked, each with its chosen manager's id (or None)."""
    chosen = {}
    for csp in csps:
        if form[f"take_part_{csp.id}"].data:
            manager = form[f"manager_{csp.id}"].data
            chosen[csp.id] = int(manager) if manager else None
    return chosen


MAX_YEARS = 5
YEAR_RE = r"^\d{4}/\d{2}$"


def budget_rules_form_class():
    """Cap per bid, match funding, up to five financial years each with an optional cap, and the
    cost categories (one per line)."""
    from govuk_frontend_wtf.wtforms_widgets import GovCheckboxInput
    from wtforms import BooleanField
    from wtforms.validators import Regexp

    from app.forms import MoneyField

    attrs = {
        "cap_per_bid": MoneyField(
            "Most a bid can ask for (optional)", description="For example, 700,000. Leave empty for no cap."
        ),
        "match_percent": IntegerField(
            "Match funding expected, as a percentage of the amount requested (optional)",
            description="For example, 50. Leave empty when some is expected but no percentage is set.",
            validators=[
                Optional(),
                NumberRange(min=0, max=100, message="Match funding must be a whole number from 0 to 100"),
            ],
            widget=GovTextInput(),
        ),
        "match_cash": BooleanField("Cash match funding counts", widget=GovCheckboxInput()),
        "match_in_kind": BooleanField("In-kind match funding counts", widget=GovCheckboxInput()),
        "categories": TextAreaField(
            "Cost categories",
            description="One per line, for example Staff",
            validators=[Required(message="Enter at least one cost category")],
            widget=GovTextArea(),
        ),
        "submit": SubmitField("Save budget rules", widget=GovSubmitInput()),
    }
    for n in range(1, MAX_YEARS + 1):
        attrs[f"year_{n}"] = StringField(
            f"Financial year {n}" + (" (optional)" if n > 1 else ""),
            description="For example, 2018/19" if n == 1 else None,
            validators=[
                Required(message="Enter the first financial year") if n == 1 else Optional(),
                Regexp(YEAR_RE, message="Enter the financial year like 2018/19"),
            ],
            filters=[_strip],
            widget=GovTextInput(),
        )
        attrs[f"year_{n}_cap"] = MoneyField(f"Most a bid can ask for in financial year {n} (optional)")
    return type("BudgetRulesForm", (BaseForm,), attrs)


class ReasonForm(BaseForm):
    """A reason for a life-cycle step that undoes an earlier one (reopening contributions)."""

    reason = TextAreaField(
        "Why are you reopening contributions?",
        description="For example, to send one contribution back for changes. The CSPs still writing are emailed this.",
        validators=[
            Required(message="Enter why contributions are being reopened"),
            Length(max=2000, message="Reason must be 2,000 characters or fewer"),
        ],
        filters=[_strip],
        widget=GovCharacterCount(),
    )
    submit = SubmitField("Reopen contributions", widget=GovSubmitInput())


class OutcomeForm(BaseForm):
    """The funder's decision on the bid."""

    outcome = RadioField(
        "What did the funder decide?",
        choices=[("awarded", "Awarded funding"), ("not_awarded", "Not awarded")],
        validators=[Required(message="Select whether the bid was awarded funding")],
        widget=GovRadioInput(),
    )
    awarded = MoneyField(
        "Amount awarded",
        error_name="Amount awarded",
        description="In pounds, for example 822000 or 822,000.00",
    )
    decided_on = GovDateField(
        "Date the funder told you",
        description="For example, 14 1 2019",
        validators=[Required(message="Enter the date the funder decided")],
    )
    submit = SubmitField("Record the outcome", widget=GovSubmitInput())

    def validate_awarded(self, field):
        if self.outcome.data == "awarded" and field.data is None and not field.process_errors:
            raise ValidationError("Enter the amount awarded")
