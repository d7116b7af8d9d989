"""The form for giving an item to someone, with an optional due date."""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSubmitInput
from wtforms import RadioField, SubmitField
from wtforms.validators import Optional

from app.forms import BaseForm, GovDateField, Required


class AssignForm(BaseForm):
    assignee = RadioField(
        "Who should do this?",
        coerce=int,
        choices=[],
        validators=[Required(message="Select who should do this")],
        widget=GovRadioInput(),
    )
    due_date = GovDateField("Due date", validators=[Optional()])
    submit = SubmitField("Save", widget=GovSubmitInput())

    @classmethod
    def for_people(cls, people, assignment=None, **kwargs) -> AssignForm:
        """The form offering these people, filled in with the current assignment (if any)."""
        data = {}
        if assignment is not None:
            data = {"assignee": assignment.assignee_id, "due_date": assignment.due_date}
        form = cls(data=data, **kwargs)
        form.assignee.choices = [(person.id, person.full_name) for person in people]
        form.people = people
        return form

    def chosen(self):
        """The person chosen (one of those offered), or None."""
        return next((p for p in self.people if p.id == self.assignee.data), None)

    def assignee_items(self) -> list[dict]:
        from app.models import ROLE_LABELS

        return [
            # An email address is one long word: it wraps rather than push the page wider at 320px.
            {"hint": {"text": f"{ROLE_LABELS[p.role]}, {p.email}", "classes": "pb-assignee-hint"}}
            for p in self.people
        ]
