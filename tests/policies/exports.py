"""Exports: the export pages of the collective bid and of one contribution, and one export's
progress page, status, preparation, retry and download, each for an export of the bid and one of
CSP A1's contribution. Pages and downloads are round.view's (the bid) or contribution.view's;
making and retrying are bid.export's or contribution.export's."""

from tests.access_policy import Route

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
FILE = b"PK\x03\x04 an export made for the access test"

RA = lambda w: {"round_id": w.round_a}  # noqa: E731
A1 = lambda w: {"contribution_id": w.contribution_a1}  # noqa: E731


def objects(w) -> dict:
    """A ready export (with its file stored) and a failed one, of round A's bid and of CSP A1's contribution."""
    import hashlib
    import secrets

    from app.extensions import db
    from app.models import Contribution, ExportStatus, Round, User
    from app.models.base import utcnow
    from app.services.exports import export_folder, request_export

    rnd = db.session.get(Round, w.round_a)
    actor = db.session.get(User, w.users["lead_staff"])
    a1 = db.session.get(Contribution, w.contribution_a1)
    ids = {"files": {}}
    for name, contribution in (("bid", None), ("contribution", a1)):
        ready = request_export(actor, rnd, "docx", contribution)
        ready.stored_name = f"{secrets.token_hex(16)}.docx"
        (export_folder() / ready.stored_name).write_bytes(FILE)
        ids["files"][export_folder() / ready.stored_name] = FILE
        ready.status, ready.filename, ready.size_bytes = ExportStatus.READY, "Access test.docx", len(FILE)
        ready.file_sha256, ready.finished_at = hashlib.sha256(FILE).hexdigest(), utcnow()
        failed = request_export(actor, rnd, "docx", contribution)
        failed.status, failed.error = ExportStatus.FAILED, "RuntimeError: the renderer broke"
        db.session.flush()
        ids[f"{name}_export"], ids[f"failed_{name}_export"] = ready.id, failed.id
    return ids


def _one(endpoint: str, methods: str, bid_action: str, contribution_action: str, failed: bool = False, **kw):
    """The same route for an export of the bid and for one of CSP A1's contribution."""
    prefix = "failed_" if failed else ""
    return [
        Route(endpoint, methods, bid_action, lambda w: {"export_id": getattr(w, f"{prefix}bid_export")},
              variant="bid", **kw),
        Route(endpoint, methods, contribution_action,
              lambda w: {"export_id": getattr(w, f"{prefix}contribution_export")}, variant="contribution", **kw),
    ]


ROUTES = [
    Route("exports.bid_exports", "GET", "round.view", RA),
    Route("exports.create_bid_export", "POST", "bid.export", RA),
    Route("exports.contribution_exports", "GET", "contribution.view", A1),
    Route("exports.create_contribution_export", "POST", "contribution.export", A1),
    *_one("exports.show", "GET", "round.view", "contribution.view"),
    *_one("exports.status", "GET", "round.view", "contribution.view"),
    *_one("exports.retry", "POST", "bid.export", "contribution.export", failed=True),
    *_one("exports.download", "GET", "round.view", "contribution.view", download=DOCX, file=lambda w: FILE),
]
