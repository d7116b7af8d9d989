"""The funder's application form of a round: its page (round.view), the upload and removal
(round.manage_funder_form: lead bidder administrators until the bid has gone to the funder) and the
download of the stored original (round.download_funder_form), for round A."""

from tests.access_policy import Route

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
RA = lambda w: {"round_id": w.round_a}  # noqa: E731


def objects(w) -> dict:
    """Round A's funder's form, uploaded by its administrator (a real file in the upload folder)."""
    from io import BytesIO

    from werkzeug.datastructures import FileStorage

    from app.extensions import db
    from app.models import Round, User
    from app.services.funder_form import stored_path, upload_funder_form
    from tests.fixtures.funder_forms_fill import answer_boxes_form

    rnd = db.session.get(Round, w.round_a)
    actor = db.session.get(User, w.users["lead_admin"])
    data = answer_boxes_form()
    form = upload_funder_form(actor, rnd, FileStorage(BytesIO(data), filename="EIYF application form.docx")).form
    db.session.flush()
    return {"funder_form_bytes": data, "files": {stored_path(form): data}}


ROUTES = [
    Route("exports.funder_form", "GET", "round.view", RA),
    Route("exports.upload_funder_form", "POST", "round.manage_funder_form", RA),
    Route("exports.download_funder_form", "GET", "round.download_funder_form", RA,
          download=DOCX, file=lambda w: w.funder_form_bytes),
    Route("exports.remove_funder_form", "GET POST", "round.manage_funder_form", RA),
]
