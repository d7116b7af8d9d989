"""Forms for reviewing contributions: filters, comments, requests for changes, decisions."""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovCheckboxInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
)
from wtforms import BooleanField, HiddenField, SelectField, SelectMultipleField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from app.forms import BaseForm, Required, as_id
from app.models import ContributionStatus
from app.services.internal_notes import MAX_NOTE
from app.services.review import MAX_MESSAGE


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class OverviewFilterForm(BaseForm):
    """Filters sent as a GET query: no CSRF token, nothing changes."""

    class Meta:
        csrf = False

    status = SelectField(
        "Status",
        choices=[SelectChoice("", "Any status")] + [SelectChoice(s.value, s.label) for s in ContributionStatus],
        validate_choice=False,
        widget=GovSelect(),
    )
    at_risk = BooleanField("Only contributions at risk of missing the deadline", widget=GovCheckboxInput())
    apply = SubmitField("Apply filters", widget=GovSubmitInput())

    @property
    def chosen_status(self) -> ContributionStatus | None:
        try:
            return ContributionStatus(self.status.data) if self.status.data else None
        except ValueError:
            return None


class VersionedForm(BaseForm):
    # Contribution.version when the page was loaded: a decision on an older page is refused.
    version = HiddenField()

    @property
    def expected_version(self) -> int | None:
        return as_id(self.version.data)


class DecisionForm(VersionedForm):
    submit = SubmitField("Continue", widget=GovSubmitInput())


class CommentForm(BaseForm):
    section = SelectField(
        "What is your comment about?", choices=[SelectChoice("", "")], validate_choice=False, widget=GovSelect()
    )
    body = TextAreaField(
        "Comment",
        validators=[
            Required(message="Enter your comment"),
            Length(max=MAX_MESSAGE, message=f"Your comment must be {MAX_MESSAGE:,} characters or fewer"),
        ],
        filters=[_strip],
        widget=GovTextArea(),
    )
    # Where to go back to after commenting: the review page, the section page or the comments page.
    return_to = HiddenField()
    submit = SubmitField("Add comment", widget=GovSubmitInput())

    @property
    def section_id(self) -> int | None:
        if not self.section.data:
            return None
        section_id = as_id(self.section.data)
        return -1 if section_id is None else section_id  # -1: not one of its sections, the service says so


class InternalNoteForm(BaseForm):
    """A note the CSP never sees. Its labels say so (the page gives the lead bidder's and CSP's names)."""

    section = SelectField(
        "What is your note about?", choices=[SelectChoice("", "")], validate_choice=False, widget=GovSelect()
    )
    body = TextAreaField(
        "Internal note",
        validators=[
            Required(message="Enter the note"),
            Length(max=MAX_NOTE, message=f"The note must be {MAX_NOTE:,} characters or fewer"),
        ],
        filters=[_strip],
        widget=GovTextArea(),
    )
    # Where to go back to after adding it: the review page, or the internal notes page.
    return_to = HiddenField()
    submit = SubmitField("Add internal note", widget=GovSubmitInput())

    @property
    def section_id(self) -> int | None:
        if not self.section.data:
            return None
        section_id = as_id(self.section.data)
        return -1 if section_id is None else section_id  # -1: not one of its sections, the service says so


class DeleteInternalNoteForm(BaseForm):
    submit = SubmitField("Delete internal note", widget=GovSubmitInput())


class RequestChangesForm(VersionedForm):
    items = SelectMultipleField(
        "Which parts should the CSP revisit?",
        description="Select all that apply.",
        choices=[],
        validators=[Required(message="Select the parts the CSP should revisit")],
        validate_choice=False,
        widget=GovCheckboxesInput(),
    )
    message = TextAreaField(
        "Message to the CSP",
        description="Say what needs to change. The CSP manager will get this by email.",
        validators=[
            Required(message="Enter a message for the CSP"),
            Length(max=MAX_MESSAGE, message=f"Message must be {MAX_MESSAGE:,} characters or fewer"),
        ],
        filters=[_strip],
        widget=GovTextArea(),
    )
    submit = SubmitField("Send back for changes", widget=GovSubmitInput())


class ExcludeForm(VersionedForm):
    reason = TextAreaField(
        "Why are you excluding this contribution?",
        description="The CSP manager will get this by email.",
        validators=[
            Required(message="Enter the reason for excluding the contribution"),
            Length(max=MAX_MESSAGE, message=f"Reason must be {MAX_MESSAGE:,} characters or fewer"),
        ],
        filters=[_strip],
        widget=GovTextArea(),
    )
    submit = SubmitField("Exclude from the bid", widget=GovSubmitInput())


class SelectedContributionsForm(BaseForm):
    """The contributions ticked on the review overview, for "Accept selected" (which asks first)
    and "Send a reminder to selected". The checkboxes are drawn by the page, one a row."""

    contributions = SelectMultipleField("Contributions", choices=[], validate_choice=False)
    # A unique value of the page the form came from: sending the same form twice (a double click,
    # a retried POST) reminds nobody twice.
    request_key = HiddenField()
    # "yes" once the lead has confirmed accepting them (the confirmation page).
    confirm = HiddenField()

    NONE_SELECTED = "Select the contributions you want to accept or remind"

    @property
    def ids(self) -> list[int]:
        return [i for i in (as_id(v) for v in self.contributions.data or []) if i is not None]

    @property
    def confirmed(self) -> bool:
        return self.confirm.data == "yes"

    def versions(self, formdata) -> dict[int, int | None]:
        """Each chosen contribution's version as the confirmation page showed it (version-<id>)."""
        versions = {i: as_id(formdata.get(f"version-{i}")) for i in self.ids}
        return {i: -1 if v is None else v for i, v in versions.items()}  # -1 never matches: not accepted

    def none_selected(self) -> None:
        self.contributions.errors = [self.NONE_SELECTED]


def choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]
