"""Forms for the narrative sections: writing a section, and choosing two revisions to compare."""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovCharacterCount, GovSelect, GovSubmitInput, GovTextArea
from wtforms import HiddenField, SelectField, SubmitField, TextAreaField
from wtforms.validators import Length, ValidationError

from app.forms import BaseForm
from app.models.base import as_id
from app.services.sections import MAX_CHARACTERS

FORMAT_HINT = (
    "Write in plain text. Leave a blank line between paragraphs. Start a line with a dash (-) or an "
    "asterisk (*) and a space for a bullet point, or with a number and a full stop, like 1., for a "
    "numbered list."
)


class SectionForm(BaseForm):
    text = TextAreaField(
        "Your text",
        description=FORMAT_HINT,
        validators=[Length(max=MAX_CHARACTERS, message=f"Your text must be {MAX_CHARACTERS:,} characters or fewer")],
        widget=GovCharacterCount(),
    )
    # The SectionResponse.version this text was loaded at: saving is refused if it has moved on.
    version = HiddenField()
    complete = SubmitField("Mark as completed", widget=GovSubmitInput())
    save = SubmitField("Save and come back later", widget=GovSubmitInput())

    @classmethod
    def for_section(cls, section, **kwargs) -> SectionForm:
        """The form for this section: GOV.UK's character count in words mode when the section
        has a word limit for CSPs, else a plain textarea (app/static/js/word-count.mjs counts)."""
        form = cls(**kwargs)
        if section.csp_word_limit is None:
            form.text.widget = GovTextArea()
        return form

    @property
    def expected_version(self) -> int:
        """The version the editor loaded; -1 (which never matches) if the page sent nonsense."""
        version = as_id(self.version.data)
        return -1 if version is None else version

    @property
    def completing(self) -> bool:
        return bool(self.complete.data)


def _number(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class CompareForm(BaseForm):
    """Sent with GET from the history page: which two revisions to compare."""

    class Meta:
        csrf = False

    older = SelectField("Compare revision", coerce=_number, validate_choice=False, widget=GovSelect())
    newer = SelectField("with revision", coerce=_number, validate_choice=False, widget=GovSelect())
    compare = SubmitField("Compare revisions", widget=GovSubmitInput())

    def set_revisions(self, numbers: list[int], chosen: bool) -> None:
        """numbers: the revision numbers, newest first. Until someone has chosen, the latest two."""
        choices = [(n, f"Revision {n}") for n in numbers]
        self.older.choices = choices
        self.newer.choices = choices
        self._numbers = set(numbers)
        if not chosen and len(numbers) > 1:
            self.newer.data, self.older.data = numbers[0], numbers[1]

    def validate_older(self, field) -> None:
        if field.data not in self._numbers:
            raise ValidationError("Select the first revision to compare")

    def validate_newer(self, field) -> None:
        if field.data not in self._numbers:
            raise ValidationError("Select the second revision to compare")
        if field.data == self.older.data:
            raise ValidationError("Select two different revisions to compare")
