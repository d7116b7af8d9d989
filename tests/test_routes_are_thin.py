"""Routes stay thin: they load through the rulebook and read through services, never the database.

A page's reads go through a service function scoped to the signed-in user (app/services/), and its
single records through the rulebook's loaders (app/policy/: get_round_or_404 ...), so every load
passes the rulebook. A route module may only end the request's transaction: db.session.commit()
or db.session.rollback(). These tests read the route modules with `ast` and name each offender
with its file and line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.test_layers import APP, imports, matches, rel

# The web layer's modules: every blueprint's routes (contributions/ and bid/ are split by part),
# their forms, and the helpers they share. Not the command line (app/cli.py) nor app/demo.py.
ROUTE_MODULES = sorted(
    {
        *APP.glob("*/routes.py"),
        *APP.glob("*/forms.py"),
        *APP.glob("*/*_forms.py"),
        *APP.glob("bid/*.py"),
        *APP.glob("contributions/*.py"),
        *APP.glob("exports/*.py"),  # routes.py and the funder's form's pages
        APP / "admin" / "people.py",  # the steps the admin's user pages and the team pages share
    }
)
# What a route may ask of the session: end the request's one transaction.
ALLOWED_SESSION_CALLS = {"commit", "rollback"}
# Building a statement: select() anywhere; these through sqlalchemy or Flask-SQLAlchemy's db (a bare
# update() or delete() is often a service passed in). Importing sqlalchemy is an offence of its own.
STATEMENT_BUILDERS = {"select", "update", "delete", "insert", "text"}


def _dotted(node: ast.AST) -> str:
    """`db.session.get` for the expression db.session.get ("" for anything not a plain name chain)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return ""
    parts.append(node.id)
    return ".".join(reversed(parts))


def offences_in(source: str, filename: str = "<source>") -> list[tuple[int, str]]:
    """(line, what) for every database access in the source."""
    found = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            head, _, last = name.rpartition(".")
            if head.endswith(".session") and last not in ALLOWED_SESSION_CALLS:  # not Flask's own session
                found.append((node.lineno, f"calls {name}()"))
            elif name == "select" or (head in {"db", "sqlalchemy"} and last in STATEMENT_BUILDERS):
                found.append((node.lineno, f"builds a statement with {name}()"))
            elif name == "db.paginate":
                found.append((node.lineno, "calls db.paginate()"))
        elif isinstance(node, ast.Attribute) and node.attr == "query" and _dotted(node.value)[:1].isupper():
            found.append((node.lineno, f"uses {_dotted(node)} (Model.query)"))
    return sorted(found)


def route_offences(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    found = [f"{rel(path)}:{line} {what}" for line, what in offences_in(source, str(path))]
    found += [
        f"{rel(path)}:{line} imports {name}" for line, name in imports(path) if matches(name, "sqlalchemy")
    ]
    return found


def test_the_route_modules_are_found():
    names = {rel(p) for p in ROUTE_MODULES}
    assert {"app/main/routes.py", "app/admin/routes.py", "app/bid/merge.py", "app/contributions/budget.py"} <= names
    assert not {"app/cli.py", "app/demo.py"} & names


def test_the_reader_sees_every_kind_of_database_access():
    source = (
        "from sqlalchemy import select\n"
        "def view():\n"
        "    db.session.get(User, 1)\n"
        "    rows = db.session.scalars(select(User)).all()\n"
        "    db.session.execute(sqlalchemy.text('select 1'))\n"
        "    User.query.filter_by(id=1)\n"
        "    session.clear()\n"
        "    db.session.commit()\n"
        "    db.session.rollback()\n"
    )
    found = offences_in(source)
    assert [line for line, _ in found] == [3, 4, 4, 5, 5, 6]
    assert found[0] == (3, "calls db.session.get()")


@pytest.mark.parametrize("path", ROUTE_MODULES, ids=rel)
def test_routes_read_through_services_and_the_rulebook(path):
    offences = route_offences(path)
    assert not offences, (
        "\n".join(offences)
        + "\n(routes read through a service function scoped to the user (app/services/) and load one record"
        " through the rulebook (app/policy/ get_..._or_404); they only commit or roll back)"
    )

