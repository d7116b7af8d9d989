"""Absolute links for emails and feeds, inside a request or not (CLI, scheduler)."""

from __future__ import annotations

from flask import current_app, has_request_context, url_for


def absolute_url(endpoint: str, **values) -> str:
    """BASE_URL + the endpoint's path: links in emails never depend on the request's Host."""
    base = current_app.config["BASE_URL"]
    if has_request_context():
        return base + url_for(endpoint, **values)
    with current_app.test_request_context("/", base_url=base):
        return base + url_for(endpoint, **values)
