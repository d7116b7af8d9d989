"""Forms for budget lines, outcomes and partners, and "Have you completed this section?".

The forms check what can be read from the request (a number, a date, a choice); the rules live in
app/services/budget.py, and the forms ask it too so that every problem is shown at once."""

from __future__ import annotations

import re
from datetime import date

from govuk_frontend_wtf.wtforms_widgets import (
    GovCharacterCount,
    GovDateInput,
    GovRadioInput,
    GovSubmitInput,
    GovTextInput,
)
from wtforms import Field, HiddenField, RadioField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional, StopValidation

from app.forms import ActionForm, BaseForm, MoneyField, MoneyRequired, Required, as_id
from app.models import MatchType, Round
from app.services import budget as rules


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _choice_field(label: str, message: str, coerce=int, **kwargs) -> RadioField:
    return RadioField(
        label,
        coerce=coerce,
        validators=[Required(message=message)],
        invalid_choice_message=message,
        invalid_value_message=message,
        widget=GovRadioInput(),
        **kwargs,
    )


# --- optimistic locking -----------------------------------------------------------------------

def _version_given(form, field) -> None:
    """A change or delete must say which version of the item it was loaded with. A page without
    it (sent by hand, or from before versions existed) is refused, never saved blindly."""
    if as_id(field.data) is None:
        noun = getattr(form, "item_noun", "item")
        raise StopValidation(
            f"We could not tell which version of this {noun} you opened, so nothing was saved. "
            f"Go back, open the {noun} again and make your change"
        )


class VersionField(HiddenField):
    """The version of the item the page was loaded with (app/services/budget.py, ItemConflict)."""

    error_href = "#main-content"

    def __init__(self, **kwargs):
        super().__init__(validators=[_version_given], **kwargs)


class VersionedMixin:
    """For forms that change or delete a versioned item: `version` and what to do on a conflict."""

    item_noun = "item"

    def without_version(self):
        """For adding an item: there is no version to check yet."""
        del self.version
        return self

    def load_version(self, item) -> None:
        self.version.data = str(item.version)

    @property
    def expected_version(self) -> int:
        return as_id(self.version.data)

    def show_conflict(self, conflict) -> None:
        """Nothing was saved: say so, and send the current version with the next save (what the
        user typed stays in the other fields), so saving again is a deliberate choice."""
        self.version.data = str(conflict.item.version)
        self.version.errors = [conflict.message]
        self.version.error_href = "#their-version"


class DeleteItemForm(VersionedMixin, ActionForm):
    """"Are you sure?" for deleting a versioned item: refused if the item changed meanwhile."""

    version = VersionField()

    def __init__(self, *args, item_noun: str = "item", **kwargs):
        super().__init__(*args, **kwargs)
        self.item_noun = item_noun


class _RuleCheckedForm(BaseForm):
    """Adds the service's problems for fields that have no error of their own yet."""

    def rule_problems(self) -> list[tuple[str, str]]:
        return []

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators=extra_validators)
        for name, message in self.rule_problems():
            field = getattr(self, name, None)
            if field is not None and not field.errors:
                self.add_error(name, message)
                valid = False
        return valid


# --- budget lines -----------------------------------------------------------------------------

class BudgetLineForm(VersionedMixin, _RuleCheckedForm):
    item_noun = "budget line"

    financial_year = _choice_field("Financial year", "Select the financial year")
    cost_category = _choice_field("Cost category", "Select the cost category")
    description = StringField(
        "Description",
        description="What the money is for, for example 2 detached youth workers (1.5 FTE)",
        validators=[Required(message="Enter a description of what the money is for")],
        filters=[_strip],
        widget=GovTextInput(),
    )
    amount = MoneyField(
        "Amount requested",
        description="In pounds and pence, for example 25,000 or 1,250.50",
        validators=[MoneyRequired("Enter the amount requested")],
    )
    match_amount = MoneyField(
        "Match funding (optional)",
        error_name="Match funding",
        description="Money or resources from elsewhere that pay for part of this line",
    )
    match_type = RadioField(
        "Type of match funding",
        coerce=str,
        validators=[Optional()],
        invalid_choice_message="Select whether the match funding is cash or in-kind",
        widget=GovRadioInput(),
    )
    match_source = StringField(
        "Source of match funding (optional)",
        description="Who provides it, for example Reading Borough Council youth service",
        filters=[_strip],
        widget=GovTextInput(),
    )
    submit = SubmitField("Save budget line", widget=GovSubmitInput())
    version = VersionField()  # changing a line only: adding one leaves it out (without_version)

    def __init__(self, rnd: Round, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.round = rnd
        self.financial_year.choices = [SelectChoice(y.id, y.label) for y in rnd.financial_years]
        self.cost_category.choices = [SelectChoice(c.id, c.name) for c in rnd.cost_categories]
        self.allowed_match_types = rules.allowed_match_types(rnd)
        self.match_type.choices = [SelectChoice(t.value, t.label) for t in self.allowed_match_types]
        if len(self.allowed_match_types) == 1:
            self.match_type.invalid_choice_message = "Select the type of match funding"

    @property
    def takes_match_funding(self) -> bool:
        return bool(self.allowed_match_types)

    def fill_from(self, line) -> None:
        """Show a stored line (GET of the change page)."""
        self.financial_year.data = line.financial_year_id
        self.cost_category.data = line.cost_category_id
        self.description.data = line.description
        self.amount.data = line.amount_pence
        self.match_amount.data = line.match_pence or None
        self.match_type.data = line.match_type.value if line.match_type else None
        self.match_source.data = line.match_source or ""

    def values(self) -> dict:
        """The service's keyword arguments."""
        return {
            "financial_year_id": self.financial_year.data,
            "cost_category_id": self.cost_category.data,
            "description": self.description.data,
            "amount_pence": self.amount.data,
            "match_pence": self.match_amount.data,
            "match_type": self.match_type.data or None,
            "match_source": self.match_source.data,
        }

    def rule_problems(self) -> list[tuple[str, str]]:
        values = self.values()
        # A value the form could not read is None; the service then leaves that field to the form.
        if self.match_type.data is not None and self.match_type.data not in {t.value for t in MatchType}:
            values["match_type"] = None
        return rules.line_problems(self.round, **values)


# --- outcomes ---------------------------------------------------------------------------------

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
            ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
            ("oct", "october"), ("nov", "november"), ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}  # fmt: skip
_PARTS = ("day", "month", "year")


class _GovDateWidget(GovDateInput):
    """GOV.UK date input that shows what was typed and marks only the parts that are wrong."""

    def map_gov_params(self, field, **kwargs):
        params = super(GovDateInput, self).map_gov_params(field, **kwargs)
        if field.raw_data is not None:
            typed = (list(field.raw_data) + ["", "", ""])[:3]
        elif field.data:
            typed = [str(field.data.day), str(field.data.month), str(field.data.year)]
        else:
            typed = ["", "", ""]
        wrong = field.wrong_parts if field.errors else set()
        params.setdefault("fieldset", {"legend": {"text": field.label.text}})
        params["items"] = [
            {
                "label": part.capitalize(),
                "id": f"{field.id}-{part}",
                "name": field.name,
                "classes": " ".join(
                    c for c in ("govuk-input--width-4" if part == "year" else "govuk-input--width-2",
                                "govuk-input--error" if part in wrong else "") if c
                ),
                "value": value,
            }
            for part, value in zip(_PARTS, typed, strict=True)
        ]  # fmt: skip
        return params


class GovDateField(Field):
    """A date typed as day, month and year (three inputs with one name), checked the GOV.UK way:
    "By when must include a month", "By when must be a real date". Months may be typed as names.

    The error summary links to the first part that is wrong (error_href), not the wrapper."""

    widget = _GovDateWidget()

    def __init__(self, label=None, validators=None, error_name: str | None = None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.error_name = error_name or str(self.label.text)
        self.wrong_parts: set[str] = set(_PARTS)

    @property
    def error_href(self) -> str:
        first = next((p for p in _PARTS if p in self.wrong_parts), "day")
        return f"#{self.id}-{first}"

    def _value(self) -> str:
        return self.data.strftime("%d %m %Y") if self.data else ""

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        self.data = None
        parts = [v.strip() for v in valuelist]
        if len(parts) != 3:
            raise ValueError(f"{self.error_name} must be a real date")
        if not any(parts):
            return  # nothing typed: the Required validator says so
        missing = [p for p, v in zip(_PARTS, parts, strict=True) if not v]
        if missing:
            self.wrong_parts = set(missing)
            raise ValueError(f"{self.error_name} must include a {' and '.join(missing)}")
        day_text, month_text, year_text = parts
        month = int(month_text) if month_text.isdigit() else _MONTHS.get(month_text.lower().rstrip("."))
        wrong = set()
        if not day_text.isdigit() or not 1 <= int(day_text) <= 31:
            wrong.add("day")
        if month is None or not 1 <= month <= 12:
            wrong.add("month")
        if not year_text.isdigit():
            wrong.add("year")
        if wrong:
            self.wrong_parts = wrong
            raise ValueError(f"{self.error_name} must be a real date")
        if not re.fullmatch(r"[0-9]{4}", year_text):
            self.wrong_parts = {"year"}
            raise ValueError("Year must include 4 numbers")
        try:
            self.data = date(int(year_text), month, int(day_text))
        except ValueError:
            self.wrong_parts = set(_PARTS)
            raise ValueError(f"{self.error_name} must be a real date") from None


class DateRequired:
    field_flags: dict = {}

    def __init__(self, message: str):
        self.message = message

    def __call__(self, form, field) -> None:
        if field.data is None and not field.process_errors:
            field.wrong_parts = set(_PARTS)
            field.errors[:] = []
            raise StopValidation(self.message)


class OutcomeForm(VersionedMixin, _RuleCheckedForm):
    item_noun = "outcome"

    measure = StringField(
        "Measure",
        description="What will change, for example the number of young people excluded from school",
        validators=[Required(message="Enter what you will measure")],
        filters=[_strip],
        widget=GovTextInput(),
    )
    baseline = StringField(
        "Baseline",
        description="Where things are now, for example 42 permanent exclusions in 2017/18",
        validators=[Required(message="Enter the baseline: where things are now")],
        filters=[_strip],
        widget=GovTextInput(),
    )
    target = StringField(
        "Target",
        description="Where you aim to be, for example 30 permanent exclusions a year",
        validators=[Required(message="Enter the target you aim to reach")],
        filters=[_strip],
        widget=GovTextInput(),
    )
    by_when = GovDateField(
        "By when",
        description="For example, 31 3 2020",
        validators=[DateRequired("Enter the date you will reach the target by")],
    )
    submit = SubmitField("Save outcome", widget=GovSubmitInput())
    version = VersionField()

    def values(self) -> dict:
        return {
            "measure": self.measure.data,
            "baseline": self.baseline.data,
            "target": self.target.data,
            "by_when": self.by_when.data,
        }

    def rule_problems(self) -> list[tuple[str, str]]:
        return rules.outcome_problems(**self.values())


# --- partners ---------------------------------------------------------------------------------

class PartnerForm(VersionedMixin, _RuleCheckedForm):
    item_noun = "partner"

    organisation_name = StringField(
        "Organisation name",
        description="For example, Reading Youth Offending Service",
        validators=[Required(message="Enter the name of the organisation")],
        filters=[_strip],
        widget=GovTextInput(),
    )
    role = TextAreaField(
        "Their role",
        description="What they will do, and what they bring: staff, referrals, premises, data",
        validators=[Required(message="Enter the organisation's role")],
        filters=[_strip],
        widget=GovCharacterCount(),
    )
    submit = SubmitField("Save partner", widget=GovSubmitInput())
    version = VersionField()

    def __init__(self, contribution, partner_id: int | None = None, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.contribution = contribution
        self.partner_id = partner_id

    def values(self) -> dict:
        return {"organisation_name": self.organisation_name.data, "role": self.role.data}

    def rule_problems(self) -> list[tuple[str, str]]:
        return rules.partner_problems(self.contribution, partner_id=self.partner_id, **self.values())


# --- "Have you completed this section?" -------------------------------------------------------

class CompletedForm(BaseForm):
    completed = RadioField(
        "Have you completed this section?",
        choices=[
            SelectChoice("yes", "Yes, I’ve completed this section"),
            SelectChoice("no", "No, I’ll come back to it later"),
        ],
        validators=[Required(message="Select whether you have completed this section")],
        invalid_choice_message="Select whether you have completed this section",
        widget=GovRadioInput(),
    )
    submit = SubmitField("Continue", widget=GovSubmitInput())

    @property
    def is_completed(self) -> bool:
        return self.completed.data == "yes"
