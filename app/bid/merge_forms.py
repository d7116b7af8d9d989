"""Forms for the merged sections of the collective bid."""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovCharacterCount, GovSubmitInput, GovTextArea
from wtforms import HiddenField, SelectMultipleField, SubmitField, TextAreaField
from wtforms.validators import Length

from app.contributions.section_forms import FORMAT_HINT
from app.forms import BaseForm
from app.models.base import as_id
from app.services.sections import MAX_CHARACTERS


def _version(field) -> int:
    """The version the page was loaded at; -1 (which never matches) if the page sent nonsense."""
    version = as_id(field.data)
    return -1 if version is None else version


class MergedTextForm(BaseForm):
    text = TextAreaField(
        "Merged text",
        description=FORMAT_HINT,
        validators=[
            Length(max=MAX_CHARACTERS, message=f"The merged text must be {MAX_CHARACTERS:,} characters or fewer")
        ],
        widget=GovCharacterCount(),
    )
    # The MergedSection.version this text was loaded at: saving is refused if it has moved on.
    version = HiddenField()
    save = SubmitField("Save merged text", widget=GovSubmitInput())

    @classmethod
    def for_section(cls, section, **kwargs) -> MergedTextForm:
        """GOV.UK's character count in words mode, with the funder's limit for the section; a plain
        textarea (counted by app/static/js/word-count.mjs) when it has none."""
        form = cls(**kwargs)
        if section.word_limit is None:
            form.text.widget = GovTextArea()
        return form

    @property
    def expected_version(self) -> int:
        return _version(self.version)


class DraftForm(BaseForm):
    version = HiddenField()
    # "yes" once the lead has confirmed replacing a merged text they have edited.
    confirm = HiddenField()
    build = SubmitField("Build the first draft", widget=GovSubmitInput())

    @property
    def expected_version(self) -> int:
        return _version(self.version)

    @property
    def confirmed(self) -> bool:
        return self.confirm.data == "yes"


class ReplaceDraftsForm(BaseForm):
    """The confirmation of "Build first drafts for all sections": which edited sections to replace
    (none ticked at first). Each listed section's version as the page showed it is sent as
    version-<section id>, so a section someone edits meanwhile is not overwritten."""

    replace = SelectMultipleField("Which edited sections do you want to replace?", choices=[],
                                  validate_choice=False)

    @property
    def ids(self) -> set[int]:
        return {i for i in (as_id(v) for v in self.replace.data or []) if i is not None}

    @staticmethod
    def versions(formdata, sections) -> dict[int, int]:
        """section id -> the version the page showed, for each section the page listed."""
        return {s.id: _version_value(formdata.get(f"version-{s.id}")) for s in sections
                if f"version-{s.id}" in formdata}


def _version_value(value) -> int:
    version = as_id(value)
    return -1 if version is None else version
