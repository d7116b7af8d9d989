"""The reminders page of a round (lead bidder administrators): the schedule in words, the reminders
coming up, those written so far with their emails' state, and "send again"."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.extensions import db
from app.forms import ActionForm
from app.models.base import utcnow
from app.policy import get_reminder_or_404, get_round_or_404, rule_required
from app.reminders import bp
from app.reminders.forms import ScheduleForm
from app.services import ServiceError
from app.services import reminders as service


@bp.get("/rounds/<int:round_id>/reminders")
@rule_required("round.manage_reminders")
def index(round_id: int):
    rnd = get_round_or_404(current_user, round_id)
    schedule = service.schedule_of(rnd)  # made with the round: a GET never writes
    if schedule is None:
        abort(404)
    now = utcnow()
    return render_template(
        "reminders/index.html",
        title=f"Reminders for {rnd.title}",
        round=rnd,
        schedule=schedule,
        schedule_words=service.describe(schedule),
        upcoming=service.upcoming(rnd, now, limit=20),
        history=service.history(rnd, request.args.get("page")),
        can_send_again=service.can_send_again,
        plain_error=service.plain_error,
        send_again_form=ActionForm(),
        now=now,
    )


@bp.route("/rounds/<int:round_id>/reminders/schedule", methods=["GET", "POST"])
@rule_required("round.manage_reminders")
def schedule(round_id: int):
    rnd = get_round_or_404(current_user, round_id)
    current = service.schedule_of(rnd)
    if current is None:
        abort(404)
    form = ScheduleForm()
    if not form.is_submitted():
        form.fill(current)
    if form.validate_on_submit():
        try:
            service.update_schedule(current_user, rnd, **form.values())
        except ServiceError as exc:
            form.add_error(exc.field, exc.message)
        else:
            db.session.commit()
            flash("The reminder schedule has been saved", "success")
            return redirect(url_for("reminders.index", round_id=rnd.id))
    return render_template(
        "reminders/schedule.html", title=f"Reminder schedule for {rnd.title}", round=rnd, form=form
    ), (400 if form.errors else 200)


@bp.post("/rounds/<int:round_id>/reminders/<int:reminder_id>/send-again")
@rule_required("round.manage_reminders")
def send_again(round_id: int, reminder_id: int):
    rnd = get_round_or_404(current_user, round_id)
    reminder = get_reminder_or_404(current_user, rnd, reminder_id)
    form = ActionForm()
    if not form.validate_on_submit():
        flash("This page timed out for your security. Try again", "error")
        return redirect(url_for("reminders.index", round_id=rnd.id, _anchor="sent"))
    try:
        service.send_again(current_user, reminder)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("reminders.index", round_id=rnd.id, _anchor="sent"))
    db.session.commit()
    flash(f"The reminder will be sent to {reminder.user.full_name} again in the next few minutes", "success")
    return redirect(url_for("reminders.index", round_id=rnd.id, _anchor="sent"))
