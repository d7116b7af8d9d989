"""Addresses: absolute links for emails and feeds, inside a request or not (CLI, scheduler), links
to the other pages of a long list, and the whole numbers a route accepts."""

from __future__ import annotations

from flask import current_app, has_request_context, request, url_for
from werkzeug.routing import IntegerConverter

from app.models.base import MAX_ID


def absolute_url(endpoint: str, **values) -> str:
    """BASE_URL + the endpoint's path: links in emails never depend on the request's Host."""
    base = current_app.config["BASE_URL"]
    if has_request_context():
        return base + url_for(endpoint, **values)
    with current_app.test_request_context("/", base_url=base):
        return base + url_for(endpoint, **values)


def absolute_link(path: str) -> str:
    """BASE_URL + a path inside the service (a notification's link), for an email."""
    return current_app.config["BASE_URL"] + path


def page_url(number: int, anchor: str | None = None) -> str:
    """The current page's address showing page `number` of its list (app/services/pages.py): the
    other query parameters kept, and no page parameter for page 1 (one address per page)."""
    args = request.args.to_dict(flat=False)
    args.pop("page", None)
    if number > 1:
        args["page"] = [str(number)]
    return url_for(request.endpoint, **(request.view_args or {}), **args, _anchor=anchor)


class DatabaseIdConverter(IntegerConverter):
    """`<int:...>` in every route: a whole number no larger than an id can be (MAX_ID). A larger
    one matches no route (404) rather than reaching the database, which refuses it (PostgreSQL:
    "integer out of range"; SQLite, beyond 64 bits: OverflowError)."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_ID,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
