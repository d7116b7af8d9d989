from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user

from app.account import bp
from app.account.forms import ChangePasswordForm, ConfirmAppForm, EmailPreferencesForm, TurnOffTwoFactorForm
from app.extensions import db
from app.forms import ActionForm
from app.models import Role
from app.policy import rule_required, two_factor_required
from app.services import ServiceError
from app.services import two_factor as two_factor_service
from app.services.accounts import change_password as change_password_service
from app.services.email_preferences import change_email_preferences
from app.services.sessions import sessions_for, sign_out_others, start_session
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
        two_factor_required=two_factor_required(current_user),
        action_form=ActionForm(),
    )


@bp.post("/sessions/sign-out-others")
@rule_required("account.end_other_sessions")
def sign_out_other_sessions():
    if ActionForm().validate_on_submit():
        count = sign_out_others(current_user)
        db.session.commit()
        flash(f"You have been signed out of {count} other browser{'s' if count != 1 else ''}"
              if count else "You were not signed in anywhere else", "success")
    return redirect(url_for("account.overview"))


# --- two-factor sign-in ------------------------------------------------------------------------------

@bp.get("/two-factor")
@rule_required("account.two_factor")
def two_factor():
    return render_template(
        "account/two_factor.html",
        title="Two-factor sign-in",
        required=two_factor_required(current_user),
        codes_left=two_factor_service.recovery_codes_left(current_user) if current_user.has_two_factor else 0,
        action_form=ActionForm(),
    )


@bp.post("/two-factor/start")
@rule_required("account.two_factor")
def start_two_factor():
    if ActionForm().validate_on_submit():
        two_factor_service.start_setup(current_user)
        db.session.commit()
        return redirect(url_for("account.set_up_two_factor"))
    return redirect(url_for("account.two_factor"))


def _recovery_codes_page(codes: list[str]):
    """The recovery codes, shown once: in the answer to the button that made them, never stored."""
    return render_template("account/recovery_codes.html", title="Your recovery codes", codes=codes), 200, {
        "Cache-Control": "no-store"
    }


@bp.route("/two-factor/set-up", methods=["GET", "POST"])
@rule_required("account.two_factor")
def set_up_two_factor():
    if not current_user.totp_pending_secret:
        return redirect(url_for("account.two_factor"))
    form = ConfirmAppForm()
    if form.validate_on_submit():
        try:
            codes = two_factor_service.confirm_setup(current_user, form.code.data)
        except ServiceError as exc:
            form.add_error(exc.field, exc.message)
        else:
            db.session.commit()
            flash("Two-factor sign-in is on", "success")
            return _recovery_codes_page(codes)
    uri = two_factor_service.setup_uri(current_user)
    return render_template(
        "account/two_factor_set_up.html",
        title="Set up two-factor sign-in",
        form=form,
        qr_code=two_factor_service.qr_code_svg(uri),
        key=two_factor_service.key_for_typing(current_user.totp_pending_secret),
    ), (400 if form.errors else 200)


@bp.post("/two-factor/recovery-codes")
@rule_required("account.two_factor")
def new_recovery_codes():
    if ActionForm().validate_on_submit():
        try:
            codes = two_factor_service.new_recovery_codes(current_user)
        except ServiceError as exc:
            flash(exc.message, "info")
        else:
            db.session.commit()
            flash("You have new recovery codes. The old ones no longer work", "success")
            return _recovery_codes_page(codes)
    return redirect(url_for("account.two_factor"))


@bp.route("/two-factor/turn-off", methods=["GET", "POST"])
@rule_required("account.turn_off_two_factor")
def turn_off_two_factor():
    form = TurnOffTwoFactorForm()
    if form.validate_on_submit():
        try:
            two_factor_service.turn_off(current_user, form.password.data)
        except ServiceError as exc:
            form.add_error(exc.field, exc.message)
        else:
            db.session.commit()
            flash("Two-factor sign-in is off", "success")
            return redirect(url_for("account.two_factor"))
    return render_template("account/turn_off_two_factor.html", title="Turn off two-factor sign-in", form=form), (
        400 if form.errors else 200
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


# --- email preferences -------------------------------------------------------------------------------

@bp.route("/email-notifications", methods=["GET", "POST"])
@rule_required("account.email_preferences")
def email_preferences():
    user = current_user._get_current_object()
    form = EmailPreferencesForm(
        data=None if request.method == "POST" else {
            "frequency": user.email_notifications.value, "follow_csp": "yes" if user.follow_csp else "no",
        }
    )
    contributor = user.role == Role.CSP_CONTRIBUTOR
    if not contributor:
        del form.follow_csp
    if form.validate_on_submit():
        try:
            changed = change_email_preferences(
                user, form.frequency.data, (form.follow_csp.data == "yes") if contributor else None
            )
        except ServiceError as exc:
            form.add_error(exc.field, exc.message)
        else:
            db.session.commit()
            flash("Your email preferences have been saved" if changed else "Your email preferences have not changed",
                  "success")
            return redirect(url_for("account.email_preferences"))
    return render_template(
        "account/email_preferences.html", title="Email notifications", form=form, contributor=contributor,
    ), (400 if form.errors else 200)
