"""Supporting documents of a contribution."""

from tests.access_policy import Route

A1 = lambda w: {"contribution_id": w.contribution_a1}  # noqa: E731
DOCUMENT = lambda w: {"contribution_id": w.contribution_a1, "attachment_id": w.document}  # noqa: E731


def objects(w) -> dict:
    """A PDF uploaded to CSP A1's contribution by its manager (a real file in the upload folder)."""
    from io import BytesIO

    from werkzeug.datastructures import FileStorage

    from app.extensions import db
    from app.models import Contribution, User
    from app.services.documents import stored_path, upload_document
    from tests.fixtures.documents import pdf

    contribution = db.session.get(Contribution, w.contribution_a1)
    actor = db.session.get(User, w.users["csp_manager"])
    data = pdf()
    upload = FileStorage(BytesIO(data), filename="Reading problem profile.pdf")
    attachment = upload_document(actor, contribution, upload, "Problem profile").attachment
    db.session.flush()
    return {"document": attachment.id, "document_bytes": data, "files": {stored_path(attachment): data}}


ROUTES = [
    Route("contributions.documents", "GET", "contribution.view", A1),
    Route("contributions.upload_document", "GET POST", "contribution.edit", A1),
    Route("contributions.documents_completed", "POST", "contribution.edit", A1),
    Route("contributions.download_document", "GET", "contribution.view", DOCUMENT,
          download="application/pdf", file=lambda w: w.document_bytes),
    Route("contributions.delete_document", "GET POST", "contribution.edit", DOCUMENT),
]
