"""The search form: one box, sent with GET (a search changes nothing, so it carries no security
token). Its button is the template's (a plain button: no name, so the address holds only q)."""

from govuk_frontend_wtf.wtforms_widgets import GovTextInput
from wtforms import StringField
from wtforms.validators import Length

from app.forms import BaseForm, Required
from app.services.search import MAX_QUERY_LENGTH


class SearchForm(BaseForm):
    class Meta:
        csrf = False

    q = StringField(
        "Search",
        validators=[
            Required(message="Enter a search term"),
            Length(max=MAX_QUERY_LENGTH, message=f"Search term must be {MAX_QUERY_LENGTH} characters or fewer"),
        ],
        widget=GovTextInput(),
    )
