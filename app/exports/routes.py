"""Export pages (issue 5).

- /rounds/<id>/exports: export the collective bid, and every export made of it so far.
- /contributions/<id>/exports: export one contribution (Word or PDF), and its exports so far.
- /exports/<id>: one export: being prepared, ready (download), or failed (try again).

Asking for an export writes a record, queues the job that makes the file (app/jobs/exports.py) and
goes to its progress page: no web request waits for a file to be made. With JavaScript the page
polls .../status and shows the download link when the file is ready; without it, the page has a
link to look again. If the worker making the file dies, the page says so and the recovery job
queues it again within a minute.

Who may do what is decided by the rulebook in app/policy/ (get_export_or_404, and the bid.export and
contribution.export rules).
"""

from __future__ import annotations

import logging

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from app.exports import bp
from app.exports.forms import ExportForm
from app.extensions import db
from app.forms import ActionForm
from app.policy import (
    LEAD_ANY,
    RULES,
    SIGNED_IN,
    can,
    can_create_export_like,
    get_contribution_or_404,
    get_export_or_404,
    get_round_or_404,
    roles_required,
    rule_required,
)
from app.services import ServiceError, retention
from app.services import exports as service
from app.services import funder_form as funder_forms
from app.services.documents import human_size
from app.services.exports.content import contribution_content

log = logging.getLogger(__name__)


@bp.context_processor
def _helpers():
    return {
        "human_size": human_size,
        "formats": service.FORMATS,
        "failure_reason": failure_reason,
        "file_noun": file_noun,
        "is_stale": service.is_stale,
        "why_removed": retention.why_removed,
        "max_attempts": current_app.config["EXPORT_MAX_ATTEMPTS"],
    }


FILE_NOUNS = {
    "docx": "Word document",
    "pdf": "PDF",
    "xlsx": "Excel spreadsheet",
    "csv": "budget lines CSV file",
    "csv-outcomes": "outcomes CSV file",
    "zip": "ZIP file",
    service.FUNDER_FORM: "filled-in funder’s form",
}


def file_noun(key: str) -> str:
    """What to call the file in a sentence: 'Your Word document is being prepared'."""
    return FILE_NOUNS.get(key, "file")


def failure_reason(export) -> str:
    """Why an export failed, in plain words (the technical error is in the log and the record)."""
    error = export.error or ""
    if error.startswith("WorkerLost"):
        return "Making the file was interrupted several times, so we stopped trying."
    if error.startswith(("FileNotFoundError", "IsADirectoryError")):
        return "A supporting document's file could not be found, so the file could not be made."
    if error.startswith("NoFunderForm"):
        return "The funder’s form was removed before the file was made. Upload it again and create a new export."
    if error.startswith("MemoryError"):
        return "The file was too large to make."
    return "Something went wrong while making the file."


def _state(export) -> str:
    """pending, preparing, ready, failed, removed (the file, after its retention period) or stale
    (being prepared by a worker that has gone)."""
    if service.is_stale(export):
        return "stale"
    return export.status.value


def _history(exports, current_hash: str | None):
    """The page of exports as (export, whether the content has changed since it was made)."""
    return exports.map(lambda e: (e, bool(e.content_hash) and e.content_hash != current_hash))


# --- the collective bid -------------------------------------------------------------------------

def _bid_page(rnd, form, status: int = 200):
    current = service.current_bid_version(rnd)
    funder_form = funder_forms.funder_form_of(rnd)
    form.offer_funder_form(funder_form is not None)
    return render_template(
        "exports/index.html",
        title="Export the bid",
        rnd=rnd,
        contribution=None,
        form=form if can(current_user, "bid.export", rnd) else None,
        action=url_for("exports.create_bid_export", round_id=rnd.id),
        back=url_for("bid.overview", round_id=rnd.id),
        back_text="Back to the collective bid",
        current=current,
        funder_form=funder_form,
        history=_history(service.bid_exports(rnd, request.args.get("page")), current.content_hash),
    ), status


@bp.get("/rounds/<int:round_id>/exports")
@roles_required(LEAD_ANY)
def bid_exports(round_id: int):
    rnd = get_round_or_404(current_user, round_id)
    return _bid_page(rnd, ExportForm(service.BID))


@bp.post("/rounds/<int:round_id>/exports")
@rule_required("bid.export")
def create_bid_export(round_id: int):
    rnd = get_round_or_404(current_user, round_id)
    if not can(current_user, "bid.export", rnd):
        abort(403)
    form = ExportForm(service.BID)
    if form.validate_on_submit():
        try:
            export = service.request_export(current_user, rnd, form.format.data)
        except ServiceError as exc:
            form.add_error(exc.field, exc.message)
        else:
            db.session.commit()
            return redirect(url_for("exports.show", export_id=export.id))
    return _bid_page(rnd, form, 400)


# --- one contribution ---------------------------------------------------------------------------

def _contribution_page(contribution, form, status: int = 200):
    current = contribution_content(contribution)
    reviewing = can(current_user, "round.view")  # the lead bidder's review pages
    back = url_for(
        "review.contribution" if reviewing else "contributions.task_list", contribution_id=contribution.id
    )
    return render_template(
        "exports/index.html",
        title=f"Export {contribution.csp.name}’s contribution" if reviewing else "Export your contribution",
        rnd=contribution.round,
        contribution=contribution,
        form=form if can(current_user, "contribution.export", contribution) else None,
        action=url_for("exports.create_contribution_export", contribution_id=contribution.id),
        back=back,
        back_text="Back to the contribution",
        current=current,
        history=_history(
            service.contribution_exports(contribution, request.args.get("page")), current.content_hash
        ),
    ), status


@bp.get("/contributions/<int:contribution_id>/exports")
@roles_required(SIGNED_IN)
def contribution_exports(contribution_id: int):
    contribution = get_contribution_or_404(current_user, contribution_id)
    return _contribution_page(contribution, ExportForm(service.CONTRIBUTION))


@bp.post("/contributions/<int:contribution_id>/exports")
@rule_required("contribution.export")
def create_contribution_export(contribution_id: int):
    contribution = get_contribution_or_404(current_user, contribution_id)
    if not can(current_user, "contribution.export", contribution):
        abort(403)
    form = ExportForm(service.CONTRIBUTION)
    if form.validate_on_submit():
        try:
            export = service.request_export(current_user, contribution.round, form.format.data, contribution)
        except ServiceError as exc:
            form.add_error(exc.field, exc.message)
        else:
            db.session.commit()
            return redirect(url_for("exports.show", export_id=export.id))
    return _contribution_page(contribution, form, 400)


# --- one export ---------------------------------------------------------------------------------

def _list_url(export) -> str:
    if export.contribution_id:
        return url_for("exports.contribution_exports", contribution_id=export.contribution_id)
    return url_for("exports.bid_exports", round_id=export.round_id)


def _show_page(export, form=None, status: int = 200):
    fmt = service.FORMATS[export.format]
    return render_template(
        "exports/show.html",
        title=f"Export: {fmt.label}",
        export=export,
        fmt=fmt,
        state=_state(export),
        form=form,
        can_retry=can_create_export_like(current_user, export),
        list_url=_list_url(export),
    ), status


def _status_json(export, code: int = 200):
    fmt = service.FORMATS[export.format]
    body = {
        "id": export.id,
        "state": _state(export),
        "html": render_template(
            "exports/_status.html", export=export, fmt=fmt, state=_state(export),
            can_retry=can_create_export_like(current_user, export), list_url=_list_url(export),
        ),
    }
    if export.status.value == "ready":
        body["download_url"] = url_for("exports.download", export_id=export.id)
        body["filename"] = export.filename
    return jsonify(body), code


@bp.get("/exports/<int:export_id>")
@roles_required(SIGNED_IN)
def show(export_id: int):
    export = get_export_or_404(current_user, export_id)
    return _show_page(export)


@bp.get("/exports/<int:export_id>/status")
@roles_required(SIGNED_IN)
def status(export_id: int):
    export = get_export_or_404(current_user, export_id)
    return _status_json(export)


@bp.post("/exports/<int:export_id>/retry")
@roles_required(RULES["bid.export"].roles | RULES["contribution.export"].roles)
def retry(export_id: int):
    export = get_export_or_404(current_user, export_id)
    if not can_create_export_like(current_user, export):
        abort(403)
    form = ActionForm()
    if form.validate_on_submit():
        try:
            service.retry(export)
        except ServiceError as exc:
            flash(exc.message, "info")
        else:
            db.session.commit()
        return redirect(url_for("exports.show", export_id=export.id))
    return _show_page(export, form, 400)


@bp.get("/exports/<int:export_id>/download")
@roles_required(SIGNED_IN)
def download(export_id: int):
    export = get_export_or_404(current_user, export_id)
    if export.status.value != "ready":  # not made yet, failed, or its file removed: its page says which
        return redirect(url_for("exports.show", export_id=export.id))
    response = service.download(export)
    if response is None:
        log.error("The file of export %s (%s) is missing", export.id, export.stored_name)
        return render_template(
            "exports/missing.html", title="The file is missing", export=export, list_url=_list_url(export)
        ), 404
    return response
