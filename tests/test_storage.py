"""The storage interface (app/storage.py) on both backends, and the app's files kept in an
S3-compatible store: moto's S3 server, started on loopback by the test suite (conftest `s3_server`)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from io import BytesIO
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Attachment, ExportRecord, RoundFunderForm
from app.storage import Missing, TooLarge, check_key, storage
from tests.conftest import csrf_token, post_form
from tests.fixtures import documents as samples
from tests.fixtures import funder_forms_fill as forms
from tests.test_documents import attachments, documents_path, upload
from tests.test_exports import (
    accepted,  # noqa: F401 - a fixture
    create,
    created_id,
    prepare,
    record,
)


@pytest.fixture(params=["local", "s3"])
def backend(request, app, tmp_path, monkeypatch):
    """The app's storage on each backend: the local folders (this test's own) or a bucket."""
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path / "uploads"))
    monkeypatch.setitem(app.config, "EXPORT_FOLDER", str(tmp_path / "exports"))
    monkeypatch.setitem(app.config, "QUARANTINE_FOLDER", str(tmp_path / "quarantine"))
    if request.param == "s3":
        request.getfixturevalue("s3")
    else:
        monkeypatch.setitem(app.config, "STORAGE_BACKEND", "local")
    with app.app_context():
        yield storage()


def objects(s3) -> dict[str, dict]:
    """The bucket's objects: key (without the prefix) -> head_object."""
    listed = s3.client.list_objects_v2(Bucket=s3.bucket).get("Contents", [])
    return {
        o["Key"].removeprefix(s3.prefix): s3.client.head_object(Bucket=s3.bucket, Key=o["Key"]) for o in listed
    }


# --- the interface, on both backends ----------------------------------------------------------------


def test_put_then_read_exists_size_and_delete(backend):
    data = b"%PDF-1.4 problem profile"
    stored = backend.put("uploads/0123456789abcdef0123456789abcdef", data)
    assert stored.size == len(data) and stored.sha256 == hashlib.sha256(data).hexdigest()
    assert backend.exists("uploads/0123456789abcdef0123456789abcdef")
    assert backend.size("uploads/0123456789abcdef0123456789abcdef") == len(data)
    assert backend.read("uploads/0123456789abcdef0123456789abcdef") == data
    assert backend.sha256_of("uploads/0123456789abcdef0123456789abcdef") == stored.sha256
    size, chunks = backend.stream("uploads/0123456789abcdef0123456789abcdef")
    assert size == len(data) and b"".join(chunks) == data

    backend.delete("uploads/0123456789abcdef0123456789abcdef")
    assert not backend.exists("uploads/0123456789abcdef0123456789abcdef")
    assert backend.sha256_of("uploads/0123456789abcdef0123456789abcdef") is None
    backend.delete("uploads/0123456789abcdef0123456789abcdef")  # already gone: no error
    with pytest.raises(Missing):
        backend.open("uploads/0123456789abcdef0123456789abcdef")
    with pytest.raises(Missing):
        backend.size("uploads/0123456789abcdef0123456789abcdef")
    with pytest.raises(Missing):
        backend.stream("uploads/0123456789abcdef0123456789abcdef")


def test_a_big_stream_goes_in_and_comes_out_in_chunks(backend):
    data = bytes(range(256)) * (40 * 1024 + 3)  # about 10MB: in parts on S3
    stored = backend.put("exports/big.zip", io.BytesIO(data))
    assert stored == type(stored)(len(data), hashlib.sha256(data).hexdigest())
    chunks = list(backend.open("exports/big.zip"))
    assert len(chunks) > 1 and max(len(c) for c in chunks) <= 1024 * 1024
    assert b"".join(chunks) == data
    assert backend.sha256_of("exports/big.zip") == stored.sha256


def test_copy_to_quarantine_keeps_the_bytes_and_its_hash(backend, app, tmp_path):
    data = b"%PDF-1.4 " + bytes(range(256)) * 5000
    stored = backend.put("uploads/0123456789abcdef0123456789abcdef", data)
    copied = backend.copy("uploads/0123456789abcdef0123456789abcdef", "quarantine/0123456789abcdef0123456789abcdef")
    assert copied == stored
    assert backend.read("quarantine/0123456789abcdef0123456789abcdef") == data
    assert backend.sha256_of("quarantine/0123456789abcdef0123456789abcdef") == stored.sha256
    assert [i.key for i in backend.listing("quarantine/")] == ["quarantine/0123456789abcdef0123456789abcdef"]
    if backend.name == "local":  # in its own folder, apart from the uploads
        assert (tmp_path / "quarantine" / "0123456789abcdef0123456789abcdef").read_bytes() == data
    with pytest.raises(Missing):
        backend.copy("uploads/ffffffffffffffffffffffffffffffff", "quarantine/ffffffffffffffffffffffffffffffff")


def test_putting_again_replaces_the_object(backend):
    backend.put("exports/a.csv", b"first")
    backend.put("exports/a.csv", io.BytesIO(b"second"))
    assert backend.read("exports/a.csv") == b"second"
    assert backend.sha256_of("exports/a.csv") == hashlib.sha256(b"second").hexdigest()


def test_a_stream_over_the_limit_stores_nothing(backend):
    with pytest.raises(TooLarge):
        backend.put("uploads/pending/abc", io.BytesIO(b"x" * 3_000_000), limit=2_000_000)
    assert not backend.exists("uploads/pending/abc")
    assert backend.listing("uploads/") == []


def test_listing_by_prefix_with_sizes_and_ages(backend):
    backend.put("uploads/pending/one", b"1")
    backend.put("uploads/pending/two", b"22")
    backend.put("uploads/three", b"333")
    backend.put("exports/four.csv", b"4444")
    pending = backend.listing("uploads/pending/")
    assert [(i.key, i.size) for i in pending] == [("uploads/pending/one", 1), ("uploads/pending/two", 2)]
    assert all(0 <= i.age < 600 for i in pending)
    assert [i.key for i in backend.listing("exports/")] == ["exports/four.csv"]


@pytest.mark.parametrize("key", ["../etc/passwd", "uploads/../x", "uploads/.hidden", "other/x", "uploads/",
                                 "uploads/a/b/c/d", "uploads/a b", "/uploads/x"])
def test_keys_that_could_escape_are_refused(backend, key):
    with pytest.raises(ValueError, match="Unexpected storage key"):
        backend.put(key, b"x")
    with pytest.raises(ValueError):
        check_key(key)


# --- S3: encryption at rest -----------------------------------------------------------------------------


def test_every_object_is_encrypted_by_the_server(app, s3):
    with app.app_context():
        storage().put("uploads/0123456789abcdef0123456789abcdef", b"small")
        storage().put("exports/big.zip", io.BytesIO(b"y" * (9 * 1024 * 1024)))
    found = objects(s3)
    assert set(found) == {"uploads/0123456789abcdef0123456789abcdef", "exports/big.zip"}
    assert {head["ServerSideEncryption"] for head in found.values()} == {"AES256"}


def test_kms_encryption_names_the_key(app, s3, monkeypatch):
    monkeypatch.setitem(app.config, "S3_SSE", "aws:kms")
    monkeypatch.setitem(app.config, "S3_SSE_KMS_KEY_ID", "alias/partnership-bid")
    with app.app_context():
        storage().put("exports/a.csv", b"a,b\n")
    head = objects(s3)["exports/a.csv"]
    assert head["ServerSideEncryption"] == "aws:kms"
    assert "partnership-bid" in head["SSEKMSKeyId"]


def test_an_unknown_backend_or_encryption_is_refused(app, monkeypatch):
    with app.app_context():
        monkeypatch.setitem(app.config, "STORAGE_BACKEND", "ftp")
        with pytest.raises(RuntimeError, match="Unknown STORAGE_BACKEND"):
            storage()
        monkeypatch.setitem(app.config, "STORAGE_BACKEND", "s3")
        monkeypatch.setitem(app.config, "S3_BUCKET", "b")
        monkeypatch.setitem(app.config, "S3_SSE", "none")
        with pytest.raises(RuntimeError, match="S3_SSE must be"):
            storage()


# --- the app's files on S3 ------------------------------------------------------------------------------


def test_a_document_is_uploaded_downloaded_and_deleted_on_s3(app, world, signed_in, s3):
    data = samples.pdf("Reading problem profile")
    client = signed_in("csp_manager")
    assert upload(client, world, data, "Problem profile.pdf").status_code == 302
    (attachment,) = attachments(app, world.contribution_a1)
    key = f"uploads/{attachment.stored_name}"
    head = objects(s3)[key]
    assert head["ServerSideEncryption"] == "AES256" and head["ContentLength"] == len(data)
    assert head["Metadata"]["sha256"] == attachment.sha256 == hashlib.sha256(data).hexdigest()

    response = client.get(f"{documents_path(world)}/{attachment.id}/download")
    assert response.status_code == 200 and response.get_data() == data
    assert response.headers["Content-Length"] == str(len(data))
    assert response.headers["Content-Disposition"] == 'attachment; filename="Problem profile.pdf"'
    assert response.headers["Content-Type"] == "application/pdf"

    response = post_form(client, f"{documents_path(world)}/{attachment.id}/delete")
    assert response.status_code == 302
    assert attachments(app, world.contribution_a1) == []
    assert objects(s3) == {}


def test_an_upload_whose_transaction_rolls_back_leaves_no_object(app, world, s3):
    from app.models import Contribution, User
    from app.services.documents import upload_document

    with app.test_request_context():
        actor = db.session.get(User, world.users["csp_manager"])
        contribution = db.session.get(Contribution, world.contribution_a1)
        upload_document(actor, contribution, SimpleNamespace(stream=BytesIO(samples.png()), filename="map.png"))
        assert len(objects(s3)) == 1  # written before the commit
        db.session.rollback()
    assert objects(s3) == {}
    assert attachments(app, world.contribution_a1) == []


def test_a_failed_commit_of_an_upload_leaves_no_object(app, world, signed_in, s3, monkeypatch):
    client = signed_in("csp_manager")
    token = csrf_token(client, documents_path(world))

    def failing_commit():
        raise RuntimeError("the database went away")

    monkeypatch.setattr(db.session, "commit", failing_commit)
    response = client.post(f"{documents_path(world)}/upload", content_type="multipart/form-data",
                           data={"csrf_token": token, "file": (BytesIO(samples.pdf()), "a.pdf")})
    monkeypatch.undo()
    assert response.status_code == 500
    assert objects(s3) == {}


def test_a_missing_object_is_a_404(app, world, signed_in, s3):
    client = signed_in("csp_manager")
    upload(client, world, samples.png(), "map.png")
    (attachment,) = attachments(app, world.contribution_a1)
    s3.client.delete_object(Bucket=s3.bucket, Key=f"{s3.prefix}uploads/{attachment.stored_name}")
    assert client.get(f"{documents_path(world)}/{attachment.id}/download").status_code == 404


def test_an_export_is_stored_on_s3_and_downloaded(app, accepted, signed_in, s3):  # noqa: F811
    world = accepted
    client = signed_in("lead_staff")
    export_id = created_id(create(client, f"/rounds/{world.round_a}/exports", "csv"))
    prepare(client, export_id)
    export = record(app, export_id)
    head = objects(s3)[f"exports/{export.stored_name}"]
    assert head["ServerSideEncryption"] == "AES256"
    assert head["Metadata"]["sha256"] == export.file_sha256

    response = client.get(f"/exports/{export_id}/download")
    assert response.status_code == 200
    assert hashlib.sha256(response.get_data()).hexdigest() == export.file_sha256
    assert response.headers["Content-Length"] == str(export.size_bytes)
    assert export.filename.split(" - ")[0] in response.headers["Content-Disposition"]


def test_the_zip_export_takes_the_documents_from_s3(app, world, signed_in, s3):
    from app.models import ContributionStatus
    from tests.test_consolidation import A1_LINES, A2_LINES, add_lines, set_status

    data = samples.pdf("Problem profile for the ZIP")
    assert upload(signed_in("csp_manager"), world, data, "Problem profile.pdf").status_code == 302
    add_lines(app, world.contribution_a1, A1_LINES)
    add_lines(app, world.contribution_a2, A2_LINES)
    set_status(app, world.contribution_a1, ContributionStatus.ACCEPTED)
    set_status(app, world.contribution_a2, ContributionStatus.ACCEPTED)
    client = signed_in("lead_staff")
    export_id = created_id(create(client, f"/rounds/{world.round_a}/exports", "zip"))
    prepare(client, export_id)
    assert record(app, export_id).error is None
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/exports/{export_id}/download").get_data()))
    (name,) = [n for n in archive.namelist() if n.endswith("Problem profile.pdf")]
    assert archive.read(name) == data


def test_the_funder_form_is_stored_downloaded_and_removed_on_s3(app, world, signed_in, s3):
    admin = signed_in("lead_admin")
    page = f"/rounds/{world.round_a}/funder-form"
    data = forms.headings_form()
    token = csrf_token(admin, page)
    response = admin.post(page, content_type="multipart/form-data",
                          data={"csrf_token": token, "file": (io.BytesIO(data), "EIYF form.docx")})
    assert response.status_code == 302
    with app.app_context():
        form = db.session.scalar(select(RoundFunderForm))
        key = f"uploads/{form.stored_name}"
    assert objects(s3)[key]["ServerSideEncryption"] == "AES256"
    response = admin.get(f"{page}/download")
    assert response.get_data() == data and response.headers["Content-Length"] == str(len(data))
    assert 'filename="EIYF form.docx"' in response.headers["Content-Disposition"]

    assert post_form(admin, f"{page}/remove").status_code == 302
    assert objects(s3) == {}


def test_a_pending_funder_form_is_kept_on_s3_and_old_ones_are_swept(app, world, s3):
    from datetime import timedelta

    from app.models import Round
    from app.models.base import utcnow
    from app.services import funder_form
    from app.services.retention import run_retention

    with app.test_request_context():
        rnd = db.session.get(Round, world.round_a)
        funder_form.hold_pending(rnd, b"first", "form.docx")
        (first,) = objects(s3)
        assert first.startswith("uploads/pending/")
        assert run_retention().pending_forms == 0  # young: kept
        # An hour past PENDING_MAX_AGE, the retention run sweeps it away.
        later = utcnow() + timedelta(seconds=funder_form.PENDING_MAX_AGE + 3600)
        assert run_retention(now=later).pending_forms == 1
    assert objects(s3) == {}


# --- flask storage migrate --------------------------------------------------------------------------------


@pytest.fixture
def local_files(app, world, signed_in, tmp_path, monkeypatch):
    """A document, a funder's form and an export made on the local backend, in this test's folders."""
    monkeypatch.setitem(app.config, "STORAGE_BACKEND", "local")
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path / "uploads"))
    monkeypatch.setitem(app.config, "EXPORT_FOLDER", str(tmp_path / "exports"))
    upload(signed_in("csp_manager"), world, samples.pdf("profile"), "Problem profile.pdf")
    admin = signed_in("lead_admin")
    page = f"/rounds/{world.round_a}/funder-form"
    admin.post(page, content_type="multipart/form-data",
               data={"csrf_token": csrf_token(admin, page), "file": (io.BytesIO(forms.headings_form()), "f.docx")})
    client = signed_in("lead_staff")
    prepare(client, created_id(create(client, f"/rounds/{world.round_a}/exports", "csv")))
    with app.app_context():
        keys = {
            f"uploads/{db.session.scalar(select(Attachment.stored_name))}",
            f"uploads/{db.session.scalar(select(RoundFunderForm.stored_name))}",
            f"exports/{db.session.scalar(select(ExportRecord.stored_name))}",
        }
    return SimpleNamespace(uploads=tmp_path / "uploads", exports=tmp_path / "exports", keys=keys)


def local_path(files, key: str):
    area, _, name = key.partition("/")
    return (files.uploads if area == "uploads" else files.exports) / name


def test_migrate_copies_every_file_checks_it_and_can_run_again(app, local_files, s3):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["storage", "migrate"])
    assert result.exit_code == 0, result.output
    assert "3 files: 3 copied, 0 already there, 0 missing, 0 corrupt, 0 failed; 0 local files removed" in result.output
    found = objects(s3)
    assert set(found) == local_files.keys
    for key, head in found.items():
        assert head["ServerSideEncryption"] == "AES256"
        assert head["Metadata"]["sha256"] == hashlib.sha256(local_path(local_files, key).read_bytes()).hexdigest()
    assert all(local_path(local_files, key).exists() for key in local_files.keys)  # nothing deleted

    again = runner.invoke(args=["storage", "migrate"])
    assert again.exit_code == 0
    assert "3 files: 0 copied, 3 already there" in again.output

    removed = runner.invoke(args=["storage", "migrate", "--delete-local"])
    assert removed.exit_code == 0 and "3 local files removed" in removed.output
    assert not any(local_path(local_files, key).exists() for key in local_files.keys)
    with app.app_context():  # the app now serves them from the bucket
        assert all(storage().exists(key) for key in local_files.keys)


def test_migrate_refuses_a_corrupted_file_and_replaces_a_wrong_copy(app, local_files, s3):
    document = next(k for k in local_files.keys if k.startswith("uploads/") and
                    local_path(local_files, k).read_bytes().startswith(b"%PDF"))
    local_path(local_files, document).write_bytes(b"%PDF-1.4 changed on disk")
    export = next(k for k in local_files.keys if k.startswith("exports/"))
    s3.client.put_object(Bucket=s3.bucket, Key=s3.prefix + export, Body=b"a half-copied file",
                         Metadata={"sha256": "0" * 64})

    result = app.test_cli_runner().invoke(args=["storage", "migrate", "--delete-local"])
    assert result.exit_code != 0
    assert "corrupt: supporting document" in result.output and "is not the recorded" in result.output
    assert "3 files: 2 copied, 0 already there, 0 missing, 1 corrupt" in result.output
    assert "1 files were not copied" in result.output
    found = objects(s3)
    assert document not in found  # never copied
    assert local_path(local_files, document).exists()  # and never deleted
    with app.app_context():
        assert storage().sha256_of(export) == db.session.scalar(select(ExportRecord.file_sha256))


def test_a_copy_that_comes_back_different_is_removed(app, local_files, s3, monkeypatch):
    from app.storage import S3Storage

    real_put = S3Storage.put

    def corrupting_put(self, key, data, *, limit=None):
        return real_put(self, key, b"corrupted in transit", limit=limit)

    monkeypatch.setattr(S3Storage, "put", corrupting_put)
    result = app.test_cli_runner().invoke(args=["storage", "migrate", "--delete-local"])
    assert result.exit_code != 0
    assert "3 corrupt" in result.output and "the copy was removed" in result.output
    assert objects(s3) == {}
    assert all(local_path(local_files, key).exists() for key in local_files.keys)


def test_migrate_needs_the_s3_backend(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "STORAGE_BACKEND", "local")
    result = app.test_cli_runner().invoke(args=["storage", "migrate"])
    assert result.exit_code != 0 and "STORAGE_BACKEND is local" in result.output
