"""What's new: the signed-in person's notifications (app/services/whats_new.py).

- GET /whats-new: newest first, unread ones marked "New", a page at a time. Reading the page
  changes nothing (GET never writes).
- POST /whats-new/<id>/open: marks that notification read and goes (303) where it happened.
  Anyone else's notification is 404.
- POST /whats-new/mark-all-read: marks all of the person's notifications read.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.extensions import db
from app.forms import ActionForm
from app.policy import get_notification_or_404, rule_required
from app.services import whats_new as service
from app.whats_new import bp


@bp.get("/whats-new")
@rule_required("notifications.view")
def index():
    notifications = service.page_for(current_user, request.args.get("page"))
    return render_template(
        "whats_new/index.html",
        title="What’s new",
        notifications=notifications,
        form=ActionForm(),
    )


@bp.post("/whats-new/<int:notification_id>/open")
@rule_required("notifications.mark_read")
def open_notification(notification_id: int):
    notification = get_notification_or_404(current_user, notification_id)
    form = ActionForm()
    if not form.validate_on_submit():
        return redirect(url_for("whats_new.index"))
    link = service.open_notification(current_user, notification)
    db.session.commit()
    return redirect(link if link.startswith("/") and not link.startswith("//") else url_for("whats_new.index"), 303)


@bp.post("/whats-new/mark-all-read")
@rule_required("notifications.mark_read")
def mark_all_read():
    form = ActionForm()
    if form.validate_on_submit():
        count = service.mark_all_read(current_user)
        db.session.commit()
        if count:
            flash("All your notifications are marked as read", "success")
    return redirect(url_for("whats_new.index"), 303)
