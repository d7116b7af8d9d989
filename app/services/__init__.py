"""Services: the verbs of the application. They change state, record an audit event,
queue emails and flush; the request (or CLI command) commits once."""


class ServiceError(Exception):
    """A rule stopped the action. `field` names the form field the message belongs to."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
