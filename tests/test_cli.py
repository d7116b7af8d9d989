"""flask create-admin and flask export (flask demo seed: tests/test_demo.py)."""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import func, select

from app.extensions import db
from tests.conftest import sign_in


def test_create_admin(app):
    result = app.test_cli_runner().invoke(
        args=[
            "create-admin",
            "--email",
            "Chief@Example.org",
            "--name",
            "Chief Executive",
            "--organisation",
            "Kent OPCC",
            "--password",
            "saffron delta kestrel meadow",
        ],
    )
    assert result.exit_code == 0, result.output
    client = app.test_client()
    sign_in(client, "chief@example.org", "saffron delta kestrel meadow")
    assert "Kent OPCC" in client.get("/home").get_data(as_text=True)


def test_create_admin_refuses_a_weak_password(app):
    result = app.test_cli_runner().invoke(
        args=[
            "create-admin",
            "--email",
            "a@example.org",
            "--name",
            "A",
            "--organisation",
            "Kent OPCC",
            "--password",
            "password1234",
        ],
    )
    assert result.exit_code != 0
    assert "too easy to guess" in result.output


def test_outbox_send_command(app, world, smtp_server):
    from tests.test_outbox import queue

    queue(app, world)
    result = app.test_cli_runner().invoke(args=["outbox", "send"])
    assert result.exit_code == 0
    assert "1 sent, 0 to retry, 0 failed" in result.output
    assert len(smtp_server.to("someone@example.org")) == 1


# --- flask export (issue 5) ------------------------------------------------------------------------

def _accepted_round(app, world) -> None:
    from app.models import ContributionStatus
    from tests.test_consolidation import A1_LINES, A2_LINES, add_lines, set_status

    add_lines(app, world.contribution_a1, A1_LINES)
    add_lines(app, world.contribution_a2, A2_LINES)
    set_status(app, world.contribution_a1, ContributionStatus.ACCEPTED)
    set_status(app, world.contribution_a2, ContributionStatus.ACCEPTED)


def _only_export(app):
    from app.models import ExportRecord

    with app.app_context():
        exports = db.session.scalars(select(ExportRecord)).all()
        assert len(exports) == 1
        db.session.expunge(exports[0])
        return exports[0]


def test_export_bid_as_word_from_the_command_line(app, world, tmp_path):
    import hashlib

    from docx import Document

    from app.models import ExportStatus

    _accepted_round(app, world)
    out = tmp_path / "bid.docx"
    result = app.test_cli_runner().invoke(
        args=["export", "bid", str(world.round_a), "--format", "docx", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert zipfile.is_zipfile(io.BytesIO(data))
    text = "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)
    assert "Early Intervention Youth Fund 2018" in text
    export = _only_export(app)
    assert export.status == ExportStatus.READY
    assert export.source == "command line" and export.created_by_id is None and export.contribution_id is None
    assert export.file_sha256 == hashlib.sha256(data).hexdigest()
    assert f"Wrote {out}" in result.output
    assert f"version {export.short_hash}" in result.output and "draft" in result.output


@pytest.mark.parametrize("key, check", [
    ("pdf", lambda data: data.startswith(b"%PDF")),
    ("xlsx", lambda data: "[Content_Types].xml" in zipfile.ZipFile(io.BytesIO(data)).namelist()),
    ("csv-outcomes", lambda data: data.decode("utf-8-sig").startswith("CSP,Measure")),
])
def test_export_bid_in_other_formats(app, world, tmp_path, key, check):
    _accepted_round(app, world)
    out = tmp_path / f"bid.{key}"
    result = app.test_cli_runner().invoke(args=["export", "bid", str(world.round_a), "-f", key, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert check(out.read_bytes())
    assert _only_export(app).format == key


def test_export_to_standard_output(app, world):
    _accepted_round(app, world)
    result = app.test_cli_runner().invoke(args=["export", "bid", str(world.round_a), "-f", "csv", "-o", "-"])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.decode("utf-8-sig").startswith("CSP,Financial year")
    assert "Wrote" in result.stderr


def test_export_contribution_as_pdf(app, world, tmp_path):
    out = tmp_path / "reading.pdf"
    result = app.test_cli_runner().invoke(
        args=["export", "contribution", str(world.contribution_a1), "--format", "pdf", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    export = _only_export(app)
    assert export.contribution_id == world.contribution_a1 and export.source == "command line"


@pytest.mark.parametrize("args, message", [
    (["export", "bid", "999999", "-f", "docx", "-o", "x.docx"], "There is no round with the id 999999"),
    (["export", "contribution", "999999", "-f", "pdf", "-o", "x.pdf"], "There is no contribution with the id 999999"),
    (["export", "bid", "{round}", "-f", "doc", "-o", "x.doc"], "'doc' is not one of 'docx', 'pdf'"),
    (["export", "contribution", "{contribution}", "-f", "xlsx", "-o", "x.xlsx"], "'xlsx' is not one of 'docx', 'pdf'"),
    (["export", "bid", "{round}", "-f", "pdf", "-o", "/no/such/folder/x.pdf"], "does not exist"),
])
def test_export_refuses_bad_input_clearly(app, world, args, message):
    from app.models import ExportRecord

    args = [a.format(round=world.round_a, contribution=world.contribution_a1) for a in args]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code != 0
    assert message in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ExportRecord)) == 0


# --- flask retention run ---------------------------------------------------------------------------

def test_retention_run_says_what_it_would_remove_then_removes_it(app, world, tmp_path, monkeypatch):
    from app.models import ExportRecord, ExportStatus
    from app.storage import storage
    from tests.test_ops import Captured
    from tests.test_retention import add, export_row, name

    monkeypatch.setitem(app.config, "STORAGE_BACKEND", "local")
    monkeypatch.setitem(app.config, "EXPORT_FOLDER", str(tmp_path / "exports"))
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path / "uploads"))
    stored = f"{name()}.docx"
    with app.app_context():
        storage().put(f"exports/{stored}", b"an old draft")
    (export_id,) = add(app, export_row(world, days_old=31, stored_name=stored))

    runner = app.test_cli_runner()
    dry = runner.invoke(args=["retention", "run", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Retention: would remove 1 export file" in dry.output
    assert "Would remove 1 export file (its record is kept)" in dry.output
    assert "Would remove 0 notifications read long ago" in dry.output
    with app.app_context():
        assert db.session.get(ExportRecord, export_id).status == ExportStatus.READY

    with Captured() as log:
        result = runner.invoke(args=["retention", "run"])
    assert result.exit_code == 0, result.output
    assert "Removed 1 export file (its record is kept)" in result.output
    (line,) = [line for line in log.lines if line["logger"] == "app.services.retention"]
    assert line["job"] == "retention run" and line["run_id"] and line["retention"]["export_files"] == 1
    with app.app_context():
        assert db.session.get(ExportRecord, export_id).status == ExportStatus.REMOVED
        assert not storage().exists(f"exports/{stored}")

    again = runner.invoke(args=["retention", "run"])
    assert "Retention: nothing to remove" in again.output
