"""Logs for several servers: one line per event, JSON or text (LOG_FORMAT), each carrying the
request id of the request it belongs to (or the fields a job bound with `bind`).

Why the standard library and not python-json-logger: the formatter is twenty lines, names its
fields exactly as our log search expects (time, level, logger, message, request_id ...), and adds
no dependency to pin and audit.

The request id comes from the load balancer's X-Request-ID header when it is a safe token (so one
id follows a request through the proxy, the app and its logs), otherwise it is made here; it goes
back on the response's X-Request-ID header and is `flask.g.request_id` for the request's code.

Background work: a job binds its own fields (`with bind(job="outbox send", run_id=...)`) and every
line it logs carries them. A task queued by a request (app/jobs: `defer`) carries the request's id,
and the worker runs it inside `bind(request_id=...)`: the lines of the task carry the id of the
request that queued it, so one search finds both.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request

SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")
REQUEST_ID_HEADER = "X-Request-ID"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_bound: ContextVar[dict] = ContextVar("log_fields", default={})  # noqa: B039 - never mutated, only replaced

requests_log = logging.getLogger("app.requests")


@contextmanager
def bind(**fields) -> Iterator[None]:
    """Add these fields to every log line written in the block (a job's name and run id, or the
    request id a queued task was given)."""
    token = _bound.set({**_bound.get(), **fields})
    try:
        yield
    finally:
        _bound.reset(token)


def bound_field(name: str):
    """A field bound by `bind` around the code running now (None when there is none)."""
    return _bound.get().get(name)


def new_run_id() -> str:
    return uuid.uuid4().hex


def request_id_from(header: str | None) -> str:
    """The incoming id when it is a safe token, else a new one."""
    if header and SAFE_REQUEST_ID.match(header):
        return header
    return uuid.uuid4().hex


_RULE_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def logged_path() -> str:
    """The request's path as it is safe to log: the route's pattern with its numbers (record ids)
    filled in and every other argument left as its name, so a secret in a path (an invitation or
    password reset token, a calendar feed's key) never reaches the logs. A path that matched no
    route may hold anything, so it is not logged."""
    rule = request.url_rule
    if rule is None:
        return "(no route)"
    values = request.view_args or {}

    def argument(match: re.Match) -> str:
        value = values.get(match.group(1))
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else match.group(0)

    return _RULE_ARGUMENT.sub(argument, rule.rule)


def context_fields() -> dict:
    """The fields of the request or job this line belongs to."""
    fields = dict(_bound.get())
    if has_request_context():
        request_id = g.get("request_id")
        if request_id:
            fields.setdefault("request_id", request_id)
        user_id = _user_id()
        if user_id is not None:
            fields.setdefault("user_id", user_id)
        fields.setdefault("endpoint", request.endpoint)
        fields.setdefault("method", request.method)
        fields.setdefault("path", logged_path())
    return fields


# Attributes every LogRecord has: anything else on a record came from `extra=` and is logged.
_RECORD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the request's or job's fields,
    what the call passed in `extra=`, and the traceback of an exception."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(context_fields())
        line.update({k: v for k, v in vars(record).items() if k not in _RECORD_ATTRIBUTES})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    """The development format, with the request id at the end when there is one."""

    def __init__(self):
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        request_id = context_fields().get("request_id")
        if request_id:
            first, newline, rest = text.partition("\n")
            text = f"{first} [{request_id}]{newline}{rest}"
        return text


class _Handler(logging.StreamHandler):
    """The one handler this module puts on the root logger (found again by its class)."""


def configure(log_format: str, level: str) -> None:
    """One handler on the root logger, writing LOG_FORMAT lines to stderr; the app's loggers at LOG_LEVEL."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, _Handler)), None)
    if handler is None:
        handler = _Handler(sys.stderr)
        root.addHandler(handler)
        if root.level == logging.NOTSET or root.level > logging.WARNING:
            root.setLevel(logging.WARNING)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    logging.getLogger("app").setLevel(level)


def _user_id():
    """The signed-in user's id, if Flask-Login loaded one, read without a query."""
    user = g.get("_login_user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    from sqlalchemy import inspect

    try:
        identity = inspect(user).identity
    except Exception:  # not a mapped object: no id to give  # noqa: BLE001
        return None
    return identity[0] if identity else None


def init_app(app: Flask) -> None:
    """Give every request an id, and log one line when it is done."""

    @app.before_request
    def _request_id():
        g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        g.request_started = time.perf_counter()

    @app.after_request
    def _completed(response):
        request_id = g.get("request_id") or request_id_from(None)
        response.headers[REQUEST_ID_HEADER] = request_id
        started = g.get("request_started")
        duration_ms = round((time.perf_counter() - started) * 1000, 1) if started else None
        requests_log.info(
            "%s %s %s", request.method, logged_path(), response.status_code,
            extra={"status": response.status_code, "duration_ms": duration_ms},
        )
        return response
