"""The funder's own Word application form of a round (its page under the round: a lead bidder
administrator uploads it there, the exports page links to it):

- GET  /rounds/<id>/funder-form            the form, how the round's sections match its headings,
                                             and (for administrators) the upload
- POST /rounds/<id>/funder-form            upload or replace it
- GET  /rounds/<id>/funder-form/download   the stored original
- GET/POST /rounds/<id>/funder-form/remove remove it (a confirmation page first)

Exporting the bid into it is an ordinary export ("The funder's form (Word)", app/exports/routes.py);
its report is shown on the export's page (exports/_funder_form_report.html).
"""

from __future__ import annotations

import logging

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from app.exports import bp
from app.exports.funder_form_forms import FunderFormUploadForm
from app.extensions import db
from app.forms import ActionForm
from app.policy import (
    LEAD_ANY,
    RULES,
    can,
    get_round_or_404,
    redirect_unless,
    roles_required,
    rule_required,
    state_reason,
)
from app.services import ServiceError
from app.services import funder_form as service
from app.services.documents import human_size
from app.services.exports.funder_form import report_summary

log = logging.getLogger(__name__)

MANAGE = "round.manage_funder_form"


@bp.context_processor
def _report_helpers():
    return {"funder_form_report": report_summary}


def _page_url(rnd) -> str:
    return url_for("exports.funder_form", round_id=rnd.id)


def _page(rnd, form, status: int = 200):
    funder_form = service.funder_form_of(rnd)
    return render_template(
        "exports/funder_form.html",
        title="The funder’s application form",
        rnd=rnd,
        funder_form=funder_form,
        plan=service.plan(rnd, funder_form) if funder_form is not None else None,
        form=form if can(current_user, MANAGE, rnd) else None,
        # why an administrator cannot change it now (the bid has gone to the funder)
        locked_reason=state_reason(MANAGE, rnd) if current_user.role in RULES[MANAGE].roles else None,
        human_size=human_size,
        max_size=human_size(current_app.config["MAX_UPLOAD_BYTES"]),
    ), status


@bp.get("/rounds/<int:round_id>/funder-form")
@roles_required(LEAD_ANY)
def funder_form(round_id: int):
    rnd = get_round_or_404(current_user, round_id)
    return _page(rnd, FunderFormUploadForm(formdata=None))


@bp.post("/rounds/<int:round_id>/funder-form")
@rule_required(MANAGE)
def upload_funder_form(round_id: int):
    rnd = get_round_or_404(current_user, round_id)
    refused = redirect_unless(MANAGE, rnd, _page_url(rnd))
    if refused:
        return refused
    form = FunderFormUploadForm()
    if form.validate_on_submit():
        try:
            uploaded = service.upload_funder_form(current_user, rnd, form.file.data)
        except ServiceError as exc:
            form.add_error(exc.field, exc.message)
        else:
            db.session.commit()
            flash(uploaded.message, "success")
            return redirect(_page_url(rnd))
    return _page(rnd, form, 400)


@bp.get("/rounds/<int:round_id>/funder-form/download")
@rule_required("round.download_funder_form")
def download_funder_form(round_id: int):
    rnd = get_round_or_404(current_user, round_id, "round.download_funder_form")
    funder_form = service.funder_form_of(rnd)
    if funder_form is None:
        abort(404)
    response = service.download(funder_form)
    if response is None:
        log.error("The funder's form of round %s (%s) is missing", rnd.id, funder_form.stored_name)
        abort(404)
    return response


@bp.route("/rounds/<int:round_id>/funder-form/remove", methods=["GET", "POST"])
@rule_required(MANAGE)
def remove_funder_form(round_id: int):
    rnd = get_round_or_404(current_user, round_id)
    refused = redirect_unless(MANAGE, rnd, _page_url(rnd))
    if refused:
        return refused
    funder_form = service.funder_form_of(rnd)
    if funder_form is None:
        return redirect(_page_url(rnd))
    form = ActionForm()
    if form.validate_on_submit():
        try:
            filename = service.remove_funder_form(current_user, rnd)
        except ServiceError as exc:
            flash(exc.message, "info")
        else:
            db.session.commit()
            flash(f"The funder’s form {filename} has been removed", "success")
        return redirect(_page_url(rnd))
    return render_template(
        "exports/funder_form_remove.html",
        title="Remove the funder’s form",
        rnd=rnd,
        funder_form=funder_form,
        form=form,
        human_size=human_size,
    ), (400 if form.is_submitted() else 200)
