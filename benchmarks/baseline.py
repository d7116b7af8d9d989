"""The load benchmark's two baselines, each a tiny WSGI app served by gunicorn with the same
settings as the service (see benchmarks/load.py):

- `hello`: a bare Flask "Hello, World!": the most a Flask app can serve on this machine;
- `shell`: a page rendering the GOV.UK Frontend template shell (govuk-frontend-jinja's
  template.html with a header, service navigation, phase banner, a heading and a paragraph, and a
  footer) and nothing else: no database, session, sign-in or form. What a page costs before it
  does anything of its own.

    gunicorn --workers 4 benchmarks.baseline:hello
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, render_template
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader

hello = Flask("hello")


@hello.get("/")
def hello_world():
    return "Hello, World!"


shell = Flask("shell")
shell.jinja_loader = ChoiceLoader([
    FileSystemLoader(str(Path(__file__).parent / "templates")),
    PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
])
shell.jinja_env.trim_blocks = shell.jinja_env.lstrip_blocks = True

NAVIGATION = [
    {"href": "/", "text": "Home", "active": True},
    {"href": "/rounds", "text": "Funding rounds"},
    {"href": "/account", "text": "Your account"},
]


@shell.get("/")
def shell_page():
    return render_template("shell.html", title="Funding rounds", navigation=NAVIGATION)
