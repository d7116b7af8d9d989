"""A round's deadlines page (every lead bidder user) and changing a deadline (administrators)."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.dates import govuk_datetime, utc_to_london_parts
from app.deadlines import bp
from app.deadlines.forms import change_form_class
from app.extensions import db
from app.models import DeadlineKind, RoundStatus
from app.models.base import utcnow
from app.policy import LEAD_ANY, authorise, can, get_round_or_404, roles_required, rule_required
from app.services import ServiceError
from app.services import deadlines as service

KINDS = {"funder": DeadlineKind.FUNDER, "internal": DeadlineKind.INTERNAL, "sign_off": DeadlineKind.SIGN_OFF}
HEADINGS = {
    "funder": "Change the funder’s deadline",
    "internal": "Change the internal deadline",
    "sign_off": "Set the sign-off target",
}


@bp.get("/rounds/<int:round_id>/deadlines")
@roles_required(LEAD_ANY)
def index(round_id: int):
    rnd = get_round_or_404(current_user, round_id)
    now = utcnow()
    return render_template(
        "deadlines/index.html",
        title=f"Deadlines: {rnd.title}",
        round=rnd,
        now=now,
        milestones=service.milestones(rnd, now),
        rows=service.csp_rows(rnd),
        history=service.history(rnd, request.args.get("page")),
        can_change=can(current_user, "round.change_deadlines", rnd),
    )


@bp.route("/rounds/<int:round_id>/deadlines/<kind>", methods=["GET", "POST"])
@rule_required("round.change_deadlines")
def change(round_id: int, kind: str):
    rnd = get_round_or_404(current_user, round_id)
    if kind not in KINDS:
        abort(404)
    authorise("round.change_deadlines", rnd)
    current = getattr(rnd, service.ATTRIBUTES[KINDS[kind]])
    form = change_form_class(kind)()
    if request.method == "GET" and current is not None:
        form.new_date.data, form.new_time.data = utc_to_london_parts(current)
    if form.validate_on_submit():
        new_at = form.deadline("new")
        if new_at:
            try:
                outcome = service.change_deadline(
                    current_user,
                    rnd,
                    KINDS[kind],
                    new_at,
                    form.reason.data,
                    move_internal=bool(kind == "funder" and form.move_internal.data),
                )
            except ServiceError as exc:
                form.add_error(exc.field, exc.message)
            else:
                db.session.commit()
                flash(_banner(rnd, outcome), "success")
                return redirect(url_for("deadlines.index", round_id=rnd.id))
    heading = HEADINGS[kind]
    if kind == "sign_off" and current is not None:
        heading = "Change the sign-off target"
    return render_template(
        "deadlines/change.html",
        title=heading,
        heading=heading,
        round=rnd,
        kind=kind,
        current=current,
        form=form,
    ), (400 if form.errors else 200)


def _banner(rnd, outcome: service.ChangeResult) -> str:
    change = outcome.change
    text = f"The {service.NAMES[change.kind]} is now {govuk_datetime(change.new_at)}"
    if outcome.moved is not None:
        text += f" and the internal deadline is now {govuk_datetime(outcome.moved.new_at)}"
    if rnd.status == RoundStatus.OPEN:
        return text + ". Everyone in the round has been emailed."
    return text + ". Nobody has been emailed because the round is not open."
