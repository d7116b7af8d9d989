"""Supporting documents of a contribution."""

from tests.access_policy import SIGNED_IN, Route

CSP_ANY = frozenset({"csp_manager", "csp_contributor"})
A1 = lambda w: {"contribution_id": w.contribution_a1}  # noqa: E731


def a1_document(app, world) -> dict:
    """A PDF uploaded to CSP A1's contribution by its manager: the URL values of that document."""
    from io import BytesIO

    from werkzeug.datastructures import FileStorage

    from app.extensions import db
    from app.models import Contribution, User
    from app.services.documents import upload_document
    from tests.fixtures.documents import pdf

    with app.app_context():
        contribution = db.session.get(Contribution, world.contribution_a1)
        actor = db.session.get(User, world.users["csp_manager"])
        upload = FileStorage(BytesIO(pdf()), filename="Reading problem profile.pdf")
        attachment = upload_document(actor, contribution, upload, "Problem profile").attachment
        db.session.commit()
        return {"contribution_id": world.contribution_a1, "attachment_id": attachment.id}


ROUTES = [
    Route("contributions.documents", SIGNED_IN, A1, tenant_scoped=True, csp_scoped=True),
    Route("contributions.upload_document", CSP_ANY, A1, method="POST", tenant_scoped=True, csp_scoped=True),
    Route("contributions.documents_completed", CSP_ANY, A1, method="POST", tenant_scoped=True, csp_scoped=True),
    Route("contributions.download_document", SIGNED_IN, prepare=a1_document, tenant_scoped=True, csp_scoped=True),
    Route("contributions.delete_document", CSP_ANY, prepare=a1_document, tenant_scoped=True, csp_scoped=True),
]
