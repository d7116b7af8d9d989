from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user

from app.account import bp
from app.account.forms import ChangePasswordForm
from app.extensions import db
from app.services import ServiceError
from app.services.accounts import change_password as change_password_service
from app.services.sessions import sessions_for, start_session
from app.services.tokens import hash_token


@bp.get("")
@login_required
def overview():
    sessions = sessions_for(current_user)
    return render_template(
        "account/overview.html",
        title="Your account",
        sessions=sessions,
        current_session_hash=hash_token(current_user.get_id() or ""),
    )


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            change_password_service(user, form.current_password.data, form.new_password.data)
        except ServiceError as exc:
            form.add_error(exc.field, exc.message)
        else:
            # Every session ended with the old password, this one included: start a new one.
            session.clear()
            start_session(user, request.headers.get("User-Agent"))
            login_user(user)
            db.session.commit()
            flash("Your password has been changed. You have been signed out everywhere else", "success")
            return redirect(url_for("account.overview"))
    return render_template("account/change_password.html", title="Change your password", form=form), (
        400 if form.errors else 200
    )
