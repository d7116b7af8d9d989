"""The Jinja environment: Flask's, with each template's globals as one plain dict.

Jinja keeps a template's globals as a ChainMap over the environment's globals, and every
`{% from "…/macro.html" import govukX %}` - a GOV.UK page runs hundreds, as each GOV.UK macro
imports its helpers on every call - compares the importing template's global names with the
imported one's: with ChainMaps that comparison is a Python loop over every global (a few
milliseconds per page); with dicts it is a set operation in C. The catch: a global added to the
environment after a template was loaded is not seen by that template. The app adds all its
globals in create_app(), before any template is loaded."""

from __future__ import annotations

from flask.templating import Environment as FlaskEnvironment


class Environment(FlaskEnvironment):
    def make_globals(self, d):
        return {**self.globals, **(d or {})}
