"""Hostile input on every route: no answer is a server error, and a refused form keeps what was typed.

Every (endpoint, method) of the access table (tests/access_policy.py, which the access test keeps
equal to the URL map) is tried in the first life-cycle state where some user of the world may use
it, signed in as that user, with the world in that state (the access test's snapshots):

- a POST gets the fields of the route's form (read from the page that shows it) filled by
  hypothesis with random and hostile values: NUL and other control characters, line breaks, huge
  strings, unicode, HTML and script, SQL-ish strings, negative and huge numbers, partial dates;
  fields are sometimes left out and unknown ones added;
- a GET gets hostile query strings (every argument a page reads: page, older, newer, section ...),
  and its URL with every id made too large for the id columns.

Nothing may answer 5xx. A POST refused with an error summary must show what was typed in each
text field again (normalised as the forms normalise it: control characters dropped, line breaks of
one-line fields made spaces; compared with runs of whitespace made one space).

The run is repeatable (derandomized) and bounded (FORM_EXAMPLES per form, QUERY_EXAMPLES per page).
Each case adds a line to test-artifacts/fuzz.jsonl (route, state, user, inputs tried, 5xx found);
`python -m tests.test_fuzz` sums the last run's lines.
"""

from __future__ import annotations

import html
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from flask import url_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.routing import BuildError

from app.text import tidy
from app.urls import MAX_ID
from tests import conftest
from tests.access_policy import MORE_STATES, POLICY, STATES, Route
from tests.test_access_policy import (  # noqa: F401 - _clean: the access test's autouse fixture, used here too
    ANONYMOUS,
    _clean,
    _client,
    _restore,
    _snapshots,
    expected,
)

FORM_EXAMPLES = 10
BUTTON_EXAMPLES = 2  # a form with no field but its button (sign out, open the round, make an export)
QUERY_EXAMPLES = 3
# The states tried, in order: the world as built first (most routes may be used in it).
TRY_STATES = ["open", *(state for state in STATES if state != "open"), *MORE_STATES]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

# Users tried first: the ones who may do most.
PREFERRED = ["lead_admin", "csp_manager", "lead_staff", "csp_contributor", "viewer", "other_csp_manager"]

HOSTILE = [
    "\x00",
    "before\x00after",
    "tab\there, bell\x07, escape\x1b[31m, form feed\x0c",
    "line one\r\nline two",
    "line one\rline two\nline three",
    "  spaces around  ",
    "",
    " ",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{ 7 * 7 }}",
    "' OR 1=1 --",
    "Robert'); DROP TABLE round;--",
    "%00%0d%0a",
    "../../../etc/passwd",
    "=HYPERLINK(\"http://example.com\")",
    "99999999999999999999",
    "-99999999999999999999",
    "2147483648",
    "-1",
    "0",
    "1e309",
    "NaN",
    "£1,000,000,000,000.999",
    "\u202eright to left\u202c \ufeff zero\u200bwidth",
    "😀 emoji and 中文 and ﷽",
    "x" * 20_001,
    "word " * 5_001,
]

DATE_PARTS = ["", " ", "1", "12", "31", "29", "2", "0", "13", "-1", "2026", "2027", "9999", "0001", "1900",
              "99999999999", "ab", "١٢"]

QUERY_ARGS = ["page", "older", "newer", "section", "status", "organisation", "financial_year", "next",
              "draft", "start_from", "q", "version"]


def hostile_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(HOSTILE),
        st.text(max_size=40),
        st.integers(min_value=-(10**25), max_value=10**25).map(str),
    )


# --- the forms of a page ------------------------------------------------------------------------------

class FormParser(HTMLParser):
    """The POST forms of a page: action and fields (name -> (kind, options))."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form = None
        self._select = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"action": a.get("action") or "", "method": (a.get("method") or "get").lower(),
                          "fields": {}}
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if "readonly" in a or "hidden" in a:  # shown, not typed (the account's email for password managers)
                kind = "hidden"
            if re.search(r"-(day|month|year)$", a.get("id") or ""):
                kind = "date"  # a GOV.UK date input: three inputs of one name, day, month and year
            field = self._form["fields"].setdefault(name, {"kind": kind, "options": []})
            if kind in ("radio", "checkbox", "hidden", "submit"):
                field["options"].append(a.get("value") or "")
        elif tag == "textarea" and name:
            self._form["fields"].setdefault(name, {"kind": "textarea", "options": []})
        elif tag == "select" and name:
            self._select = self._form["fields"].setdefault(name, {"kind": "select", "options": []})
        elif tag == "option" and self._select is not None:
            self._select["options"].append(a.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def post_forms(page: str, url: str) -> list[dict]:
    parser = FormParser()
    parser.feed(page)
    path = urlsplit(url).path
    return [f for f in parser.forms
            if f["method"] == "post" and urlsplit(html.unescape(f["action"])).path in ("", path)]


def field_strategy(name: str, field: dict) -> st.SearchStrategy | None:
    kind, options = field["kind"], [o for o in field["options"] if o]
    if name == "csrf_token" or kind == "file":
        return None
    if kind == "date":
        part = st.sampled_from(DATE_PARTS)
        return st.one_of(st.tuples(part, part, part).map(list),
                         st.lists(st.one_of(part, hostile_text()), min_size=0, max_size=4))
    if kind in ("radio", "checkbox", "select", "hidden", "submit") and options:
        return st.one_of(st.sampled_from(options), hostile_text())
    return hostile_text()


def form_data(fields: dict) -> st.SearchStrategy[dict]:
    strategies = {name: s for name, f in fields.items() if (s := field_strategy(name, f)) is not None}
    return st.fixed_dictionaries({}, optional={**strategies, "unexpected_field": hostile_text()})


# --- what a refused form must show again ---------------------------------------------------------------

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def shown_as(value: str) -> str:
    """The value as the page shows it, compared loosely: control characters dropped, runs of
    whitespace (line breaks, tabs, spaces at either end) made one space."""
    return " ".join(_CONTROL.sub("", value).split())


def typed_text_missing(page: str, fields: dict, data: dict) -> list[str]:
    shown = " ".join(html.unescape(page).split())
    missing = []
    for name, value in data.items():
        kind = fields.get(name, {}).get("kind")
        if kind == "date" and isinstance(value, list) and len(value) == 3:
            missing += [f"{name}={value!r}" for part in value if shown_as(part) not in shown]
            continue
        if kind not in ("text", "textarea", "email", "number", "tel", "search", "url"):
            continue
        if kind == "textarea":
            value = tidy(value).text  # multi-line text is tidied (Word's bullets made a list ...)
        if shown_as(value) not in shown:
            missing.append(f"{name}={value[:80]!r}")
    return missing


# --- the cases -------------------------------------------------------------------------------------------

def _allowed_user(app, request, route: Route):
    """The first state (and its snapshot) where some user of the world may use the route, and that user."""
    for state in TRY_STATES:
        if state not in _snapshots and "world" in conftest._snapshot:
            conftest._snapshot["world"].restore(app)  # built from the world, not another state's rows
        snapshot = _restore(app, request, state)
        values = route.values(snapshot.w)
        users = [u for u in PREFERRED if u in snapshot.w.users] + [u for u in snapshot.w.users if u not in PREFERRED]
        decisions = expected(app, route, values, [ANONYMOUS, *users], snapshot.w)
        for user in [*users, ANONYMOUS]:
            if decisions[user].allowed:
                return state, snapshot, user, values
    return None


def _url(app, endpoint: str, values: dict) -> str:
    with app.test_request_context():
        return url_for(endpoint, **values)


def _record(route: Route, state: str, user: str, kind: str, tried: int, errors: list[str]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    line = {"run": os.environ.get("PYTEST_XDIST_TESTRUNUID", str(os.getppid())), "route": route.name,
            "state": state, "user": user, "kind": kind, "inputs": tried, "server_errors": len(errors),
            "database": os.environ.get("TEST_DATABASE_URL", "sqlite").split(":")[0].split("+")[0]}
    with open(ARTIFACTS / "fuzz.jsonl", "a") as out:
        out.write(json.dumps(line) + "\n")


def _form_fields(app, client, route: Route, url: str, values: dict) -> dict:
    """The fields of the form that posts to `url`, from its own page or from a page of the same area."""
    candidates = [route.endpoint] + [r.endpoint for r in POLICY if r.method == "GET" and r.endpoint != route.endpoint
                                     and r.endpoint.split(".")[0] == route.endpoint.split(".")[0]]
    for endpoint in dict.fromkeys(candidates):
        if not any(r.endpoint == endpoint and r.method == "GET" and not r.download for r in POLICY):  # pages
            continue
        try:
            page_url = _url(app, endpoint, values)
        except BuildError:  # the page needs values this route does not have
            continue
        response = client.get(page_url)
        if response.status_code != 200:
            continue
        forms = post_forms(response.get_data(as_text=True), url)
        if forms:
            fields = {}
            for form in forms:
                fields.update(form["fields"])
            return fields
    return {}


# Pages first (they change nothing, so they share their state's tables), then forms.
# (Variants that nobody may use are the access test's alone: there is no one to send input as.)
CASES = [pytest.param(route, id=route.name) for route in sorted(POLICY, key=lambda r: r.method != "GET")
         if not route.refused_to_everyone]


SETTINGS = {"derandomize": True, "deadline": None, "database": None, "print_blob": False,
            "suppress_health_check": list(HealthCheck)}


@pytest.mark.parametrize(
    "route", [pytest.param(r, id=r.name) for r in POLICY if r.refused_to_everyone]
)
def test_a_variant_said_to_be_refused_to_everyone_is(app, request, _clean, route: Route):  # noqa: F811
    """The fuzz test leaves these out: make sure that is because nobody may use them."""
    assert _allowed_user(app, request, route) is None


@pytest.mark.parametrize("route", CASES)
def test_hostile_input(app, request, _clean, route: Route):  # noqa: F811 - the imported fixture
    found = _allowed_user(app, request, route)
    assert found is not None, (
        f"{route.name}: no user of the world may use it in any state tried (add a state, or mark the "
        "variant refused_to_everyone)")
    state, snapshot, user, values = found
    client, token = _client(app, snapshot, user)
    url = _url(app, route.endpoint, values)
    errors: list[str] = []
    tried = 0

    if route.method == "POST":
        fields = _form_fields(app, client, route, url, values)

        typed = [f for f in fields.values() if f["kind"] not in ("hidden", "submit")]

        @settings(max_examples=FORM_EXAMPLES if typed else BUTTON_EXAMPLES, **SETTINGS)
        @given(form_data(fields))
        def post(data):
            nonlocal tried
            tried += 1
            response = client.post(url, data={**data, "csrf_token": token})
            if response.status_code >= 500:
                errors.append(f"{response.status_code} for {data!r:.300}")
                return
            page = response.get_data(as_text=True)
            refused = response.status_code in (200, 400, 409) and "govuk-error-summary" in page
            if refused and (missing := typed_text_missing(page, fields, data)):
                errors.append(f"refused, but the page lost what was typed: {missing}")

        post()
        kind = f"form with {len(typed)} fields to type in"
    else:

        @settings(max_examples=QUERY_EXAMPLES, **SETTINGS)
        @given(st.dictionaries(st.sampled_from(QUERY_ARGS), hostile_text(), min_size=1, max_size=4))
        def get(args):
            nonlocal tried
            tried += 1
            response = client.get(f"{url}?{urlencode(args)}")
            if response.status_code >= 500:
                errors.append(f"{response.status_code} for ?{urlencode(args)[:300]}")

        get()
        ids = {k: v for k, v in values.items() if isinstance(v, int)}
        for too_large in (MAX_ID + 1,):
            if ids:
                tried += 1
                big = _url(app, route.endpoint, {**values, **dict.fromkeys(ids, 1)}).replace("/1", f"/{too_large}")
                response = client.get(big)
                if response.status_code >= 500:
                    errors.append(f"{response.status_code} for {big}")
        kind = "page"
        if not route.writes_on_get:
            _clean["state"] = state  # the next test of this state may start from these tables

    _record(route, state, user, kind, tried, errors)
    assert not errors, f"{route.name} [{state}] as {user}, {url}:\n  " + "\n  ".join(dict.fromkeys(errors))


def figures(path: Path = ARTIFACTS / "fuzz.jsonl") -> str:
    """The last run's figures, from test-artifacts/fuzz.jsonl."""
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    run = lines[-1].get("run")
    lines = [line for line in lines if line.get("run") == run]
    forms = [line for line in lines if line["kind"].startswith("form")]
    return (
        f"{lines[-1]['database']}: {len(lines)} routes and methods ({len(forms)} forms, "
        f"{sum(1 for line in forms if not line['kind'].startswith('form with 0 '))} with fields to type in; "
        f"{len(lines) - len(forms)} pages), {sum(line['inputs'] for line in lines)} inputs tried "
        f"({sum(line['inputs'] for line in forms)} form posts), "
        f"{sum(line['server_errors'] for line in lines)} server errors"
    )


if __name__ == "__main__":
    print(figures())
