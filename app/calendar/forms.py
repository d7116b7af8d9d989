"""Calendar forms: only buttons (making and turning off the feed address)."""

from app.forms import ActionForm


class FeedActionForm(ActionForm):
    """Make a (new) calendar address, or turn it off: a button and the CSRF token."""
