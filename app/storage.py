"""Where the app's files live: one small interface, two backends.

Every file the app keeps (supporting documents, the round's funder's form and the pending copies of
it, exports, and documents found to contain a virus) is named by a key such as "uploads/<random
name>", "uploads/pending/<random name>", "exports/<random name>.docx" or "quarantine/<random name>",
and stored through `storage()`:

- `local` (the default): UPLOAD_FOLDER holds the "uploads/" keys, EXPORT_FOLDER the "exports/"
  keys and QUARANTINE_FOLDER the "quarantine/" keys, the first two exactly where they were before
  this interface existed, so an existing install keeps its files.
- `s3`: any S3-compatible store (AWS S3, MinIO, Azure through an S3 gateway) with boto3, the object
  named S3_PREFIX + key in S3_BUCKET, always encrypted at rest by the server (SSE-S3 "AES256", or
  "aws:kms" with S3_SSE_KMS_KEY_ID). Credentials come the standard boto3 way (environment, instance
  role). With two or more app servers behind a load balancer every one of them sees every file.

`put` streams a file in and returns its size and SHA-256 (kept with the object, so `sha256_of`
answers without reading it back); `open` streams it out in chunks for a download; `listing` gives
keys under a prefix with their age, for clean-ups; `copy` copies one object to another key.

Nothing under "quarantine/" is ever served: no route builds such a key (app/services/documents.py
builds "uploads/" keys only), and only app/services/scanning.py writes there.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import secrets
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
AREAS = ("uploads", "exports", "quarantine")
# A key: an area, then path segments of letters, digits, '.', '_' and '-', none starting with a dot.
_KEY = re.compile(r"(?:uploads|exports|quarantine)(?:/[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}){1,3}")


class TooLarge(Exception):
    """The stream had more bytes than the limit given to put(); nothing was stored."""


class Missing(FileNotFoundError):
    """No object is stored under this key."""


@dataclass(frozen=True)
class Stored:
    size: int
    sha256: str


@dataclass(frozen=True)
class Listed:
    key: str
    size: int
    modified: float  # seconds since the epoch

    @property
    def age(self) -> float:
        return time.time() - self.modified


def check_key(key: str) -> str:
    if not isinstance(key, str) or not _KEY.fullmatch(key) or ".." in key:
        raise ValueError(f"Unexpected storage key {key!r}")
    return key


def _chunks(data: bytes | BinaryIO) -> Iterator[bytes]:
    if isinstance(data, bytes | bytearray | memoryview):
        data = io.BytesIO(bytes(data))
    while chunk := data.read(CHUNK):
        yield chunk


class _Hashing(io.RawIOBase):
    """A readable stream that hashes and counts what passes through it and stops past a limit."""

    def __init__(self, source: bytes | BinaryIO, limit: int | None):
        self._chunks = _chunks(source)
        self._buffer = b""
        self.limit = limit
        self.size = 0
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self._buffer:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self.size += len(chunk)
            if self.limit is not None and self.size > self.limit:
                raise TooLarge
            self.digest.update(chunk)
            self._buffer = chunk
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n

    @property
    def stored(self) -> Stored:
        return Stored(self.size, self.digest.hexdigest())


class Storage:
    """The interface. Keys are checked by check_key()."""

    name = "storage"

    def put(self, key: str, data: bytes | BinaryIO, *, limit: int | None = None) -> Stored:
        """Store bytes or a readable stream under `key` (replacing what was there), all or nothing;
        TooLarge (and nothing stored) past `limit` bytes."""
        raise NotImplementedError

    def open(self, key: str) -> Iterator[bytes]:
        """The object's bytes in chunks; Missing when there is none. The first chunk is read
        before this returns, so a missing object fails here, not halfway through a response."""
        raise NotImplementedError

    def size(self, key: str) -> int:
        """The object's size in bytes; Missing when there is none."""
        raise NotImplementedError

    def stream(self, key: str) -> tuple[int, Iterator[bytes]]:
        """The object's size and its bytes in chunks, from one read (for a download's Content-Length)."""
        return self.size(key), self.open(key)

    def delete(self, key: str) -> None:
        """Remove the object; no error when there is none."""
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        raise NotImplementedError

    def sha256_of(self, key: str) -> str | None:
        """The SHA-256 recorded when the object was stored (or computed from it); None if none."""
        raise NotImplementedError

    def listing(self, prefix: str) -> list[Listed]:
        """The objects whose keys start with `prefix` (an area and folders, e.g. "uploads/pending/")."""
        raise NotImplementedError

    def read(self, key: str) -> bytes:
        """The whole object (for small files: the funder's form, a pending copy)."""
        return b"".join(self.open(key))

    def copy(self, source: str, target: str) -> Stored:
        """Copy the object at `source` to `target` (replacing what was there), streamed; Missing
        when there is nothing at `source`."""
        return self.put(target, ChunkReader(self.open(source)))


class ChunkReader:
    """A readable stream over an iterator of chunks (so a big file is copied without holding it)."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = iter(chunks)
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


def _first_then_rest(chunks: Iterator[bytes]) -> Iterator[bytes]:
    first = next(chunks, b"")

    def rest():
        if first:
            yield first
        yield from chunks

    return rest()


# --- the local folders -----------------------------------------------------------------------------


class LocalStorage(Storage):
    """UPLOAD_FOLDER holds "uploads/...", EXPORT_FOLDER "exports/..." and QUARANTINE_FOLDER
    "quarantine/..."; files are mode 600, written to a hidden partial file first and renamed into place."""

    name = "local"

    def __init__(self, uploads: Path, exports: Path, quarantine: Path | None = None):
        self.roots = {"uploads": uploads, "exports": exports}
        if quarantine is not None:
            self.roots["quarantine"] = quarantine

    def path(self, key: str) -> Path:
        area, _, rest = check_key(key).partition("/")
        if area not in self.roots:
            raise ValueError(f"No folder is set for {area!r} keys")
        return self.roots[area] / rest

    def _folder(self, path: Path) -> Path:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        return path.parent

    def put(self, key, data, *, limit=None) -> Stored:
        final = self.path(key)
        partial = self._folder(final) / f".partial-{secrets.token_hex(8)}-{final.name}"
        stream = _Hashing(data, limit)
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, final)
        finally:
            partial.unlink(missing_ok=True)
        return stream.stored

    def open(self, key) -> Iterator[bytes]:
        try:
            fh = self.path(key).open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise Missing(key) from None

        def chunks():
            with fh:
                while chunk := fh.read(CHUNK):
                    yield chunk

        return _first_then_rest(chunks())

    def size(self, key) -> int:
        path = self.path(key)
        if not path.is_file():
            raise Missing(key)
        return path.stat().st_size

    def delete(self, key) -> None:
        self.path(key).unlink(missing_ok=True)

    def exists(self, key) -> bool:
        return self.path(key).is_file()

    def sha256_of(self, key) -> str | None:
        if not self.exists(key):
            return None
        digest = hashlib.sha256()
        for chunk in self.open(key):
            digest.update(chunk)
        return digest.hexdigest()

    def listing(self, prefix) -> list[Listed]:
        area, _, rest = prefix.partition("/")
        if area not in self.roots:
            raise ValueError(f"Unexpected storage prefix {prefix!r}")
        root = self.roots[area]
        folder, _, start = rest.rpartition("/")
        base = root / folder if folder else root
        if not base.is_dir():
            return []
        found = []
        for path in base.iterdir():
            if path.name.startswith(".") or not path.name.startswith(start) or not path.is_file():
                continue
            try:
                stat = path.stat()
            except OSError:
                continue
            found.append(Listed(f"{area}/{path.relative_to(root).as_posix()}", stat.st_size, stat.st_mtime))
        return sorted(found, key=lambda item: item.key)


# --- an S3-compatible store ------------------------------------------------------------------------


class S3Storage(Storage):
    name = "s3"
    SHA256 = "sha256"  # the object's metadata entry with the SHA-256 of its content

    def __init__(self, client, bucket: str, prefix: str = "", sse: str = "AES256", kms_key_id: str | None = None):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.sse = sse
        self.kms_key_id = kms_key_id

    def object_key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _encryption(self) -> dict:
        extra = {"ServerSideEncryption": self.sse}
        if self.sse == "aws:kms" and self.kms_key_id:
            extra["SSEKMSKeyId"] = self.kms_key_id
        return extra

    def put(self, key, data, *, limit=None) -> Stored:
        from boto3.s3.transfer import TransferConfig

        name = self.object_key(key)
        # The SHA-256 goes into the object's metadata, so it must be known before the upload: a
        # stream is first copied (and hashed) to a temporary file, kept in memory while it is small.
        with tempfile.SpooledTemporaryFile(max_size=8 * CHUNK) as spooled:
            stream = _Hashing(data, limit)
            while chunk := stream.read(CHUNK):
                spooled.write(chunk)
            spooled.seek(0)
            stored = stream.stored
            self.client.upload_fileobj(
                spooled, self.bucket, name,
                ExtraArgs={"Metadata": {self.SHA256: stored.sha256}, **self._encryption()},
                Config=TransferConfig(multipart_threshold=8 * CHUNK, multipart_chunksize=8 * CHUNK),
            )
        return stored

    def _missing(self, exc) -> bool:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        return code in ("404", "NoSuchKey", "NotFound")

    def _head(self, key) -> dict | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        except ClientError as exc:
            if self._missing(exc):
                return None
            raise

    def open(self, key) -> Iterator[bytes]:
        return self.stream(key)[1]

    def stream(self, key) -> tuple[int, Iterator[bytes]]:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.object_key(key))
        except ClientError as exc:
            if self._missing(exc):
                raise Missing(key) from None
            raise
        body = response["Body"]

        def chunks():
            try:
                yield from body.iter_chunks(CHUNK)
            finally:
                body.close()

        return int(response["ContentLength"]), _first_then_rest(chunks())

    def size(self, key) -> int:
        head = self._head(key)
        if head is None:
            raise Missing(key)
        return int(head["ContentLength"])

    def delete(self, key) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))

    def exists(self, key) -> bool:
        return self._head(key) is not None

    def sha256_of(self, key) -> str | None:
        head = self._head(key)
        if head is None:
            return None
        return head.get("Metadata", {}).get(self.SHA256)

    def listing(self, prefix) -> list[Listed]:
        area = prefix.partition("/")[0]
        if area not in AREAS:
            raise ValueError(f"Unexpected storage prefix {prefix!r}")
        found = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            for item in page.get("Contents", []):
                key = item["Key"].removeprefix(self.prefix)
                found.append(Listed(key, int(item["Size"]), item["LastModified"].timestamp()))
        return sorted(found, key=lambda item: item.key)


# --- which one ---------------------------------------------------------------------------------------


def _folder(config_key: str) -> Path:
    folder = Path(current_app.config[config_key])
    if not folder.is_absolute():
        folder = Path(current_app.root_path).parent / folder
    return folder.resolve()


def local_storage() -> LocalStorage:
    """The local folders, whatever the configured backend (`flask storage migrate` copies from them)."""
    uploads = _folder("UPLOAD_FOLDER")
    static = Path(current_app.static_folder).resolve() if current_app.static_folder else None
    if static is not None and uploads.is_relative_to(static):
        raise RuntimeError("UPLOAD_FOLDER must not be inside the static folder: uploads would be public")
    quarantine = _folder("QUARANTINE_FOLDER") if current_app.config.get("QUARANTINE_FOLDER") else None
    if static is not None and quarantine is not None and quarantine.is_relative_to(static):
        raise RuntimeError("QUARANTINE_FOLDER must not be inside the static folder")
    return LocalStorage(uploads, _folder("EXPORT_FOLDER"), quarantine)


def _s3_client(config):
    """One boto3 client per app and endpoint (clients are thread-safe; making one is slow)."""
    import boto3
    from botocore.config import Config as BotoConfig

    cache = current_app.extensions.setdefault("storage.s3_clients", {})
    settings = (config.get("S3_ENDPOINT_URL") or None, config.get("S3_REGION") or None)
    if settings not in cache:
        cache[settings] = boto3.client(
            "s3", endpoint_url=settings[0], region_name=settings[1],
            # Checksums only where S3 requires them: several S3-compatible stores refuse or garble
            # the CRC checksums that newer boto3 sends by default; each file's SHA-256 is kept anyway.
            config=BotoConfig(retries={"max_attempts": 5, "mode": "standard"}, signature_version="s3v4",
                              request_checksum_calculation="when_required",
                              response_checksum_validation="when_required"),
        )
    return cache[settings]


def storage() -> Storage:
    """The configured backend (STORAGE_BACKEND), for the app in context."""
    config = current_app.config
    backend = (config.get("STORAGE_BACKEND") or "local").lower()
    if backend == "local":
        return local_storage()
    if backend == "s3":
        if not config.get("S3_BUCKET"):
            raise RuntimeError("STORAGE_BACKEND=s3 needs S3_BUCKET")
        sse = config.get("S3_SSE") or "AES256"
        if sse not in ("AES256", "aws:kms"):
            raise RuntimeError("S3_SSE must be AES256 or aws:kms")
        prefix = config.get("S3_PREFIX") or ""
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        return S3Storage(_s3_client(config), config["S3_BUCKET"], prefix, sse, config.get("S3_SSE_KMS_KEY_ID") or None)
    raise RuntimeError(f"Unknown STORAGE_BACKEND {backend!r}: use local or s3")


def download(key: str, mimetype: str, disposition: str):
    """A response that streams the object through the app (after the route's permission check),
    with its Content-Length and our Content-Disposition; None when the object is missing."""
    from flask import Response

    try:
        size, chunks = storage().stream(key)
    except Missing:
        return None
    response = Response(chunks, mimetype=mimetype, direct_passthrough=True)
    response.content_length = size
    response.headers["Content-Disposition"] = disposition
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
