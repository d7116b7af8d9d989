"""Layers point one way: templates use the formatting code, never the other way round.

Dates (app.dates) and money (app.money) are plain Python. Services, models, exports and emails
use them directly; app.filters only registers them with Jinja, and only create_app() imports it.
These tests read the imports with `ast` (without importing anything), so a wrong import fails
here with the file and line, before it can make a cycle or drag the web layer into a service.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"

# The web layer: templates, their filters, forms and widgets.
TEMPLATING = (
    "app.filters",
    "app.forms",
    "jinja2",
    "flask.templating",
    "flask.render_template",
    "flask.render_template_string",
    "flask.stream_template",
    "flask_wtf",
    "wtforms",
    "govuk_frontend_wtf",
)
# Services that render templates on purpose, and what they may use for it.
RENDERS_TEMPLATES = {
    "app/services/outbox.py": {"flask.render_template"},  # email bodies: templates/email/*.txt|html
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[tuple[int, str]]:
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    return imports_in(path.read_text(encoding="utf-8"), package, str(path))


def imports_in(source: str, package: str, filename: str = "<source>") -> list[tuple[int, str]]:
    """(line, dotted name) for every import anywhere in the source (functions included). `from a
    import b` gives both "a" and "a.b", so `from app import filters` counts as app.filters and
    `from flask import render_template` as flask.render_template. `package` resolves `from .x`."""
    found = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def matches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def files(*patterns: str) -> list[Path]:
    found = sorted({p for pattern in patterns for p in APP.glob(pattern)})
    assert found, f"no files match {patterns}: has the layout changed?"
    return found


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_the_import_reader_sees_every_kind_of_import():
    source = (
        "import jinja2\nfrom app import filters\nfrom flask import render_template as rt\n"
        "def f():\n    from .exports import word\n    from .. import money\n"
    )
    names = {name for _, name in imports_in(source, "app.services")}
    assert {"jinja2", "app.filters", "flask.render_template", "app.services.exports.word", "app.money"} <= names


@pytest.mark.parametrize("path", files("dates.py", "money.py"), ids=rel)
def test_dates_and_money_use_only_the_standard_library(path):
    """No Flask, no templates, no forms, no database: usable from anywhere, tested on their own."""
    outside = [
        f"{rel(path)}:{line} imports {name}"
        for line, name in imports(path)
        if name.split(".")[0] not in sys.stdlib_module_names and name.split(".")[0] != "__future__"
    ]
    assert not outside, "\n".join(outside)


@pytest.mark.parametrize("path", files("services/**/*.py", "models/**/*.py"), ids=rel)
def test_services_and_models_do_not_import_templates_or_forms(path):
    allowed = RENDERS_TEMPLATES.get(rel(path), set())
    wrong = [
        f"{rel(path)}:{line} imports {name}"
        for line, name in imports(path)
        if any(matches(name, layer) for layer in TEMPLATING) and name not in allowed
    ]
    assert not wrong, "\n".join(wrong) + "\n(format with app.dates / app.money; app.filters is for Jinja only)"


def test_only_create_app_imports_the_template_filters():
    importers = [
        f"{rel(path)}:{line}"
        for path in files("**/*.py")
        for line, name in imports(path)
        if matches(name, "app.filters") and rel(path) != "app/__init__.py"
    ]
    assert not importers, "app.filters is imported by " + ", ".join(importers)


def test_the_filters_module_only_registers():
    """app.filters defines nothing but register(): the functions it registers live elsewhere."""
    tree = ast.parse((APP / "filters.py").read_text(encoding="utf-8"))
    defined = [node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)]
    assert defined == ["register"]
