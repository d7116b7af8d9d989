"""Everything in one ZIP: the bid as Word, PDF, Excel and CSV, every supporting document in a
folder for each CSP, and a manifest of every file with its size and SHA-256.

Layout, all inside one folder named like the ZIP itself:

    <name>/<name>.docx, .pdf, .xlsx, "... - budget lines.csv", "... - outcomes.csv"
    <name>/Supporting documents/<CSP>/<file name as uploaded>
    <name>/manifest.csv     path in the ZIP, what it is, CSP, size in bytes, SHA-256 (every other file)
    <name>/SHA256SUMS       the same hashes, in the form `cd <name> && sha256sum -c SHA256SUMS` checks

The ZIP's comment says which version of the bid it is (status and content hash).

A supporting document whose virus check has not passed (still being checked, contained a virus,
could not be checked) is left out: the manifest lists it, with no path, saying why ("left out:
contained a virus"), and SHA256SUMS does not. A document never checked (no scanner) goes in.

A supporting document that is missing from storage, or whose bytes no longer match the SHA-256
recorded when it was uploaded, fails the export (DocumentUnavailable, naming the file and the CSP)
rather than making a ZIP that silently lacks it: the record of the export says why it failed.

Files that are already compressed (PDF, Office files, images) are stored; the rest deflated.
Every entry has the same timestamp (when the content was read), so the ZIP depends only on its
content and that moment.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass

from app.dates import govuk_datetime, to_london
from app.services.exports.content import ExportContent
from app.services.exports.tables import csv_safe
from app.storage import Missing, storage

DOCUMENTS_FOLDER = "Supporting documents"
# formats in the ZIP, in this order (render(content, key) makes each)
FORMAT_KEYS = ("docx", "pdf", "xlsx", "csv", "csv-outcomes")
_COMPRESSED = {".pdf", ".docx", ".xlsx", ".pptx", ".odt", ".ods", ".odp", ".png", ".jpg", ".jpeg", ".gif",
               ".zip", ".gz"}
_CHUNK = 1024 * 1024


class DocumentUnavailable(Exception):
    """A supporting document cannot be put in the ZIP (missing, unreadable or changed)."""


@dataclass
class Entry:
    path: str  # inside the ZIP
    what: str
    csp: str
    size: int
    sha256: str


# --- safe, unique names ------------------------------------------------------------------------

_UNSAFE = re.compile(r'[\\/:*?"<>|]')
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
NAME_MAX = 120


def safe_name(raw: str | None, fallback: str = "file") -> str:
    """A file or folder name that is safe on Windows, macOS and Linux: no folder separators,
    reserved or control characters, not '.' or '..', not a reserved Windows device name."""
    name = unicodedata.normalize("NFC", raw or "")
    chars = []
    for ch in name:
        category = unicodedata.category(ch)
        if category in ("Cc", "Zl", "Zp") or category == "Zs":
            chars.append(" ")
        elif category in ("Cf", "Cs", "Co", "Cn"):
            continue
        else:
            chars.append(ch)
    name = _UNSAFE.sub("-", "".join(chars))
    name = re.sub(r" +", " ", name).strip(" .")
    if len(name) > NAME_MAX:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: NAME_MAX - len(ext) - 1].rstrip(" .") + "." + ext
        else:
            name = name[:NAME_MAX].rstrip(" .")
    if not name:
        name = fallback
    if _RESERVED.match(name):
        name = "_" + name
    return name


def unique_name(name: str, taken: set[str]) -> str:
    """`name`, or "name (2).ext", "name (3).ext" ... so no two are the same ignoring case
    (Windows and macOS folders ignore case). Adds it to `taken`."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    else:
        ext = "." + ext
    candidate, n = name, 1
    while candidate.casefold() in taken:
        n += 1
        candidate = f"{stem} ({n}){ext}"
    taken.add(candidate.casefold())
    return candidate


# --- writing -----------------------------------------------------------------------------------

def _info(path: str, date_time: tuple) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(path, date_time=date_time)
    dot = path.rfind(".")
    compressed = dot >= 0 and path[dot:].lower() in _COMPRESSED
    info.compress_type = zipfile.ZIP_STORED if compressed else zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _format_name(content: ExportContent, key: str) -> str:
    from app.services.exports import filename_for

    return filename_for(content, key)


def render_zip(content: ExportContent) -> bytes:
    from app.services.exports import render

    generated = to_london(content.generated_at)
    date_time = (max(generated.year, 1980), generated.month, generated.day,
                 generated.hour, generated.minute, generated.second)
    root = safe_name(_format_name(content, "zip").removesuffix(".zip"), "collective bid")
    entries: list[Entry] = []
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        taken: set[str] = set()
        for key in FORMAT_KEYS:
            data = render(content, key)
            name = unique_name(safe_name(_format_name(content, key)), taken)
            path = f"{root}/{name}"
            zf.writestr(_info(path, date_time), data)
            entries.append(Entry(path, _format_label(key), "", len(data), hashlib.sha256(data).hexdigest()))

        folders: dict[str, str] = {}  # CSP name -> folder
        folder_names: set[str] = set()
        files_in: dict[str, set[str]] = {}
        left_out: list[Entry] = []  # listed in the manifest, not in the ZIP
        for doc in content.documents:
            if doc.held_back:
                left_out.append(Entry("", f"Supporting document {doc.filename} – left out: {doc.held_back}",
                                      doc.csp, doc.size_bytes, doc.sha256))
                continue
            if doc.csp not in folders:
                folders[doc.csp] = unique_name(safe_name(doc.csp, "CSP"), folder_names)
                files_in[doc.csp] = set()
            name = unique_name(safe_name(doc.filename, "document"), files_in[doc.csp])
            path = f"{root}/{DOCUMENTS_FOLDER}/{folders[doc.csp]}/{name}"
            size, digest = _copy_document(zf, _info(path, date_time), doc)
            what = "Supporting document" + (f": {doc.description}" if doc.description else "")
            entries.append(Entry(path, what, doc.csp, size, digest))

        zf.writestr(_info(f"{root}/manifest.csv", date_time), _manifest_csv(entries + left_out))
        zf.writestr(_info(f"{root}/SHA256SUMS", date_time), _sha256sums(entries, root))
        zf.comment = (f"{content.title}: {content.status}, version {content.content_hash}, "
                      f"made at {govuk_datetime(content.generated_at)}").encode()[:65535]
    return out.getvalue()


def _format_label(key: str) -> str:
    from app.services.exports import FORMATS

    return FORMATS[key].label


def _copy_document(zf: zipfile.ZipFile, info: zipfile.ZipInfo, doc) -> tuple[int, str]:
    """Copy a stored document into the ZIP in chunks, checking it is the file that was uploaded."""
    where = f"the supporting document {doc.filename!r} from {doc.csp}"
    digest = hashlib.sha256()
    size = 0
    try:
        info.file_size = doc.size_bytes  # (so the ZIP uses 64-bit sizes only for a file that needs them)
        chunks = storage().open(doc.key)
        with zf.open(info, "w") as dst:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                dst.write(chunk)
    except (FileNotFoundError, Missing):
        raise DocumentUnavailable(
            f"The ZIP was not made because {where} is missing from the document store. "
            "Ask the CSP to upload it again, or remove it, then export again"
        ) from None
    except Exception as exc:  # a local file or an object in the bucket that could not be read
        raise DocumentUnavailable(f"The ZIP was not made because {where} could not be read: {exc}") from None
    if doc.sha256 and digest.hexdigest() != doc.sha256:
        raise DocumentUnavailable(
            f"The ZIP was not made because {where} has changed since it was uploaded "
            "(its SHA-256 does not match the one recorded at upload)"
        )
    return size, digest.hexdigest()


def _manifest_csv(entries: list[Entry]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(["Path in the ZIP", "What it is", "CSP", "Size (bytes)", "SHA-256"])
    for e in entries:
        writer.writerow([csv_safe(e.path), csv_safe(e.what), csv_safe(e.csp), e.size, e.sha256])
    return out.getvalue().encode("utf-8-sig")


def _sha256sums(entries: list[Entry], root: str) -> bytes:
    return "".join(f"{e.sha256}  {e.path.removeprefix(root + '/')}\n" for e in entries).encode("utf-8")
